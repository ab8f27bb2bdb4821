#!/usr/bin/env bash
# Builds the lab's QEMU guest: OUTDIR/vmlinuz + OUTDIR/initrd.gz (+ OUTDIR/vmlinux, the
# uncompressed kernel QEMU boots faster via PVH; OUTDIR/modules.txt, OUTDIR/kernel.txt).
#
#   tests/lab/guest/build.sh OUTDIR          # e.g. build/guest; FORCE=1 rebuilds
#
# Kernel: the Debian package linux-image-amd64 depends on (apt-cache depends; `apt-get update`
# must have been run), fetched with `apt-get download`, unpacked with `dpkg -x` in a temp dir.
# Modules: virtio_pci and virtio_net plus their dependencies (modules.dep made by `depmod -b`
# on the unpacked tree), skipping anything the package's config builds in (modules.builtin);
# /init loads them in dependency order (the list is OUTDIR/modules.txt).
# Userland: busybox-static (applets as symlinks), a udhcpc default script (at the path the
# busybox binary names: Debian's is /etc/udhcpc/default.script), iperf3 with the
# shared libraries ldd lists (left out with a warning when the host has no iperf3).
# /init mounts proc/sys/dev, loads the modules, brings lo up (eth0 stays down: `udhcpc -i eth0`
# or `ip link set eth0 up` brings it up), sets the hostname from `subnic.name=` on the kernel
# command line, prints "subnic-guest: ready" and runs a non-interactive, non-echoing shell on
# the serial console (tests/lab/vm.py drives it; see there).
#
# Cached: nothing is done when OUTDIR/vmlinuz and OUTDIR/initrd.gz exist and are newer than
# this script. Needs: apt-get, apt-cache, dpkg, depmod (kmod), gzip, busybox-static; python3
# for vmlinux (optional).
set -euo pipefail

die() { echo "guest/build.sh: $*" >&2; exit 1; }
[[ $# -eq 1 ]] || die "usage: $0 OUTDIR"
out=$1
self=$(readlink -f "$0")
mkdir -p "$out"
out=$(readlink -f "$out")

if [[ -z ${FORCE:-} && -s $out/vmlinuz && -s $out/initrd.gz && $out/vmlinuz -nt $self &&
      $out/initrd.gz -nt $self ]]; then
  echo "guest/build.sh: $out is up to date ($(cat "$out/kernel.txt" 2>/dev/null || echo '?'))"
  exit 0
fi

for t in apt-get apt-cache dpkg depmod gzip; do
  command -v "$t" >/dev/null || die "$t missing"
done
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  if [[ -x $b ]] && ! LC_ALL=C ldd "$b" >/dev/null 2>&1; then busybox=$b; break; fi
done
[[ -n $busybox ]] || die "no static busybox (install busybox-static)"

pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
      awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[[ -n $pkg ]] || die "apt-cache depends linux-image-amd64 names no linux-image-<ver> (run apt-get update)"
kver=${pkg#linux-image-}

work=$(mktemp -d "${TMPDIR:-/tmp}/subnic-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt-get download drops privileges to _apt when it can

echo "guest/build.sh: $pkg"
(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>"$work/apt.err") ||
  { cat "$work/apt.err" >&2; die "apt-get download $pkg failed"; }
deb=$(ls "$work"/*.deb)
dpkg -x "$deb" "$work/k"
mods=$work/k/lib/modules/$kver
[[ -f $work/k/boot/vmlinuz-$kver && -d $mods ]] || die "$deb has no vmlinuz-$kver or modules"
depmod -b "$work/k" "$kver"

# ---- modules in load order (each after its dependencies)
declare -A dep=() done_=()
while IFS= read -r line; do
  dep[${line%%:*}]=${line#*:}
done <"$mods/modules.dep"
order=()
add() {  # $1: path relative to $mods
  [[ -n ${done_[$1]:-} ]] && return 0
  done_[$1]=1
  local d
  for d in ${dep[$1]}; do add "$d"; done
  order+=("$1")
}
for m in virtio_pci virtio_net; do
  if grep -qE "/$m\.ko$" "$mods/modules.builtin"; then continue; fi
  p=$(grep -oE "^[^:]*/$m\.ko(\.[a-z]+)?:" "$mods/modules.dep" | tr -d :) ||
    die "module $m not in $pkg"
  add "$p"
done
for p in "${order[@]}"; do
  [[ $p == *.ko ]] || die "compressed module $p: not supported (busybox insmod)"
done

# ---- the initramfs tree
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,lib/modules}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
"$busybox" --list-full | while IFS= read -r a; do
  [[ $a == bin/busybox ]] && continue
  mkdir -p "$root/$(dirname "$a")"
  ln -sf /bin/busybox "$root/$a"
done
: >"$root/etc/modules"
for p in "${order[@]}"; do
  cp "$mods/$p" "$root/lib/modules/"
  basename "$p" >>"$root/etc/modules"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"

if command -v iperf3 >/dev/null; then
  ipf=$(command -v iperf3)
  mkdir -p "$root/usr/bin"
  cp -L "$ipf" "$root/usr/bin/iperf3"
  # "name => /path (addr)" and "/lib64/ld-linux-x86-64.so.2 (addr)"
  LC_ALL=C ldd "$ipf" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while IFS= read -r lib; do
      mkdir -p "$root/$(dirname "$lib")"
      cp -L "$lib" "$root/$lib"
    done
else
  echo "guest/build.sh: warning: no iperf3 on the host, the guest has none" >&2
fi

# where this busybox's udhcpc looks for its script (CONFIG_UDHCPC_DEFAULT_SCRIPT)
udhcpc_script=$(grep -m1 -aoE '/[a-z/]*udhcpc/default\.script' "$busybox" || true)
udhcpc_script=${udhcpc_script:-/usr/share/udhcpc/default.script}
mkdir -p "$root$(dirname "$udhcpc_script")"
cat >"$root$udhcpc_script" <<'EOF'
#!/bin/sh
# udhcpc event script: $1 = deconfig|bound|renew|leasefail|nak; environment from udhcpc
# (interface, ip, subnet, mask, router, dns, domain).
prefix() {  # dotted netmask -> prefix length
  n=0
  for o in $(echo "$1" | tr . ' '); do
    case $o in 255) n=$((n+8));; 254) n=$((n+7));; 252) n=$((n+6));; 248) n=$((n+5));;
      240) n=$((n+4));; 224) n=$((n+3));; 192) n=$((n+2));; 128) n=$((n+1));; esac
  done
  echo $n
}
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    len=${mask:-$(prefix "${subnet:-255.255.255.0}")}
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$len" dev "$interface"
    if [ -n "$router" ]; then
      ip route del default dev "$interface" 2>/dev/null
      for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    fi
    : >/etc/resolv.conf
    [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
    ;;
esac
exit 0
EOF
chmod 755 "$root$udhcpc_script"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
dmesg -n 1
for m in $(cat /etc/modules); do
  insmod "/lib/modules/$m" || echo "subnic-guest: insmod $m failed"
done
ip link set lo up
for w in $(cat /proc/cmdline); do
  case $w in subnic.name=*) hostname "${w#subnic.name=}";; esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
[ -e /sys/class/net/eth0 ] || echo "subnic-guest: no eth0"
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
cd /root
# One command shell on the console: non-interactive (it sources the console as a script file:
# no prompt, no line editing), tty echo off, SIGINT (^C from the harness) kills the running
# command but not the shell (trap). A syntax error ends the shell; the loop starts a new one.
while :; do
  setsid cttyhack sh -c 'stty -echo; trap : INT; echo "subnic-guest: ready"; . /proc/self/fd/0'
  echo "subnic-guest: shell exited, restarting"
  sleep 1
done
EOF
chmod 755 "$root/init"

(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
  gzip -n -6 >"$work/initrd.gz"
cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"
# Under TCG the bzImage's own XZ decompression takes seconds; QEMU boots the uncompressed ELF
# directly through its PVH entry (CONFIG_PVH, QEMU's pvh.bin), about 5 s faster per boot.
rm -f "$out/vmlinux"
if grep -qx 'CONFIG_PVH=y' "$work/k/boot/config-$kver" && command -v python3 >/dev/null; then
  python3 - "$work/vmlinuz" "$work/vmlinux" <<'PY' || echo "guest/build.sh: no vmlinux (booting vmlinuz)" >&2
import lzma, sys, zlib
data = open(sys.argv[1], "rb").read()
for magic, dec in ((b"\xfd7zXZ\x00", lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ)),
                   (b"\x1f\x8b\x08", lambda: zlib.decompressobj(31))):
    i = data.find(magic)
    if i < 0:
        continue
    try:
        elf = dec().decompress(data[i:])
    except (lzma.LZMAError, zlib.error):
        continue
    if elf[:4] == b"\x7fELF":
        open(sys.argv[2], "wb").write(elf)
        sys.exit(0)
sys.exit("no XZ or gzip payload with an ELF image in " + sys.argv[1])
PY
fi
for p in "${order[@]}"; do basename "$p" .ko; done >"$work/modules.txt"
echo "$pkg" >"$work/kernel.txt"
mv -f "$work/modules.txt" "$work/kernel.txt" "$out/"
[[ -f $work/vmlinux ]] && mv -f "$work/vmlinux" "$out/vmlinux"
mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initrd.gz" "$out/initrd.gz"
echo "guest/build.sh: $out/vmlinuz $out/initrd.gz ($(du -k "$out/initrd.gz" | cut -f1) KiB); modules: $(tr '\n' ' ' <"$out/modules.txt")"
