// Fuzz target: the control protocol as subnicd reads it (Daemon::on_client): bytes fed to a
// LineBuffer in pieces, each line taken out and parsed with ctl::parse_request, each answered
// with reply_ok / reply_error; plus the device-name check the handlers apply.
//
// Input: [max line byte] [split byte] then the byte stream. The line limit is small (16..271
// bytes) so overlong lines are reached; the stream is fed in pieces of 1..256 bytes.
// Invariants: lines come out in order, without '\n', within the limit; bytes in == bytes of
// the lines out + the '\n's + overlong lines + what is pending; a parsed request has a
// non-empty method, an object as params and an id that is null, an integer or a string; the
// request re-encoded with request_line parses back to the same request; every reply is one
// line of JSON ending in '\n'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ctl/json.hpp"
#include "ctl/line_buffer.hpp"
#include "ctl/message.hpp"
#include "ctl/validate.hpp"
#include "fuzz_input.hpp"

using namespace subnic;

namespace {

void check_one_line_json(const std::string& reply) {
  FUZZ_CHECK(!reply.empty() && reply.back() == '\n');
  FUZZ_CHECK(reply.find('\n') == reply.size() - 1);
  const auto j = ctl::Json::parse(reply.begin(), reply.end() - 1, nullptr, false);
  FUZZ_CHECK(!j.is_discarded() && j.is_object());
}

void handle_line(const std::string& line) {
  const auto req = ctl::parse_request(line);
  if (!req) {
    FUZZ_CHECK(req.error().code == EPROTO);
    check_one_line_json(ctl::reply_error(nullptr, req.error()));
    return;
  }
  FUZZ_CHECK(!req->method.empty());
  FUZZ_CHECK(req->params.is_object());
  FUZZ_CHECK(req->id.is_null() || req->id.is_string() || req->id.is_number_integer());
  // The client side of the same request: re-encoded, it parses back unchanged.
  const std::string again = ctl::request_line(req->id, req->method, req->params);
  FUZZ_CHECK(again.back() == '\n' && again.find('\n') == again.size() - 1);
  const auto back = ctl::parse_request(std::string_view{again}.substr(0, again.size() - 1));
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->method == req->method);
  FUZZ_CHECK(back->id == req->id);
  FUZZ_CHECK(ctl::dump_compact(back->params) == ctl::dump_compact(req->params));
  // The handlers' name check on "name"/"link" strings, and the replies.
  for (const char* key : {"name", "link", "master", "netns"}) {
    if (const auto it = req->params.find(key); it != req->params.end() && it->is_string()) {
      const auto& s = it->get_ref<const std::string&>();
      if (ctl::valid_ifname(s)) {
        FUZZ_CHECK(!s.empty() && s.size() < ctl::kIfNameSize && s.find('/') == std::string::npos);
      }
    }
  }
  check_one_line_json(ctl::reply_ok(req->id, req->params));
  check_one_line_json(ctl::reply_error(req->id, Error{EINVAL, line}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in{data, size};
  const std::size_t max_line = 16 + std::size_t{in.u8()};
  const std::size_t piece = 1 + std::size_t{in.u8()};
  const auto rest = in.rest();
  const std::string_view stream{reinterpret_cast<const char*>(rest.data()), rest.size()};

  ctl::LineBuffer buf{max_line};
  std::size_t accounted = 0;  // bytes of lines taken, their '\n', and overlong lines
  std::size_t overlong = 0;
  std::size_t newlines = 0;
  for (std::size_t off = 0; off < stream.size(); off += piece) {
    const auto part = stream.substr(off, piece);
    buf.feed(part);
    FUZZ_CHECK(buf.partial_size() <= max_line);
    while (auto line = buf.take()) {
      ++newlines;
      if (!*line) {
        FUZZ_CHECK(line->error().code == EPROTO);
        ++overlong;
        continue;
      }
      FUZZ_CHECK((*line)->size() <= max_line);
      FUZZ_CHECK((*line)->find('\n') == std::string::npos);
      accounted += (*line)->size() + 1;
      handle_line(**line);
    }
  }
  // Each '\n' of the stream ended exactly one line.
  std::size_t nl_in = 0;
  std::size_t last_nl = 0;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (stream[i] == '\n') {
      ++nl_in;
      last_nl = i + 1;
    }
  }
  FUZZ_CHECK(newlines == nl_in);
  if (overlong == 0) {
    FUZZ_CHECK(accounted == last_nl);
    FUZZ_CHECK(buf.overflowing() || buf.partial_size() == stream.size() - last_nl);
  }
  // A whole line at once, as a client that writes it in one send.
  if (stream.find('\n') == std::string_view::npos) {
    handle_line(std::string{stream});
  }
  buf.clear();
  FUZZ_CHECK(!buf.take() && buf.partial_size() == 0 && !buf.overflowing());
  return 0;
}
