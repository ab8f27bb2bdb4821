#!/usr/bin/env bash
# Builds subnic and runs every test: unit, integration (root), lab scenarios against the kernel
# oracle (root), then the unit and integration tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and the libFuzzer targets (tests/fuzz) for 30 s each. Under
# CI=true a missing privilege or tool fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $EUID -ne 0 && "${CI:-}" == "true" ]]; then
  echo "test.sh: the namespace and TAP tests need root (CI=true: this is a failure)" >&2
  exit 1
fi
echo "== format: clang-format --dry-run -Werror"
git ls-files -z '*.cpp' '*.hpp' | xargs -0 clang-format --dry-run -Werror
echo "== sanitizer build (ASan + UBSan): unit and integration tests"
BUILD_DIR=build-asan BUILD_TYPE=Debug scripts/build.sh -DSUBNIC_SANITIZE=ON -DSUBNIC_BENCH=OFF
(cd build-asan && ctest --output-on-failure -L 'unit|integration' -j2)
echo "== fuzz build (clang, libFuzzer + ASan + UBSan): every fuzz target for 30 s on its corpus"
CXX=clang++-14 BUILD_DIR=build-fuzz scripts/build.sh -DSUBNIC_FUZZ=ON -DSUBNIC_TESTS=OFF \
  -DSUBNIC_BENCH=OFF
(cd build-fuzz && ctest --output-on-failure -L fuzz -j2)
echo "== release build: every test"
scripts/build.sh
cd build
# Lab cases are independent (own namespaces, own subnicd) and mostly wait: 4 at a time.
ctest --output-on-failure -j4
