// Line framing limits and splitting, request parsing errors, reply shapes.
#include <gtest/gtest.h>

#include <string>

#include "ctl/line_buffer.hpp"
#include "ctl/message.hpp"

namespace subnic::ctl {
namespace {

std::string take_ok(LineBuffer& b) {
  auto l = b.take();
  if (!l) {
    ADD_FAILURE() << "no line";
    return {};
  }
  if (!*l) {
    ADD_FAILURE() << "error: " << l->error().message;
    return {};
  }
  return **l;
}

TEST(LineBufferTest, SplitsAcrossFeeds) {
  LineBuffer b;
  b.feed("{\"a\"");
  EXPECT_FALSE(b.take());
  EXPECT_EQ(b.partial_size(), 4u);
  b.feed(":1}\n{\"b\":2}\n\n{\"c\"");
  EXPECT_EQ(take_ok(b), "{\"a\":1}");
  EXPECT_EQ(take_ok(b), "{\"b\":2}");
  EXPECT_EQ(take_ok(b), "");  // an empty line is a line (and a malformed request)
  EXPECT_FALSE(b.take());
  b.feed(":3}\r\n");
  EXPECT_EQ(take_ok(b), "{\"c\":3}\r");  // '\n' only
  EXPECT_EQ(b.partial_size(), 0u);
}

TEST(LineBufferTest, ByteByByte) {
  LineBuffer b;
  const std::string text = "one\ntwo\n";
  for (const char c : text) {
    b.feed(std::string_view{&c, 1});
  }
  EXPECT_EQ(take_ok(b), "one");
  EXPECT_EQ(take_ok(b), "two");
}

TEST(LineBufferTest, ExactlyTheLimitIsALine) {
  LineBuffer b{8};
  b.feed("12345678\n");
  EXPECT_EQ(take_ok(b), "12345678");
}

TEST(LineBufferTest, OverlongLineIsOneEprotoInPlaceAndIsNotStored) {
  LineBuffer b{8};
  b.feed("ok\n123456789");
  EXPECT_TRUE(b.overflowing());
  EXPECT_EQ(b.partial_size(), 0u);  // dropped, not kept
  b.feed(std::string(100000, 'x'));
  EXPECT_EQ(b.partial_size(), 0u);
  b.feed("yyy\nnext\n");
  EXPECT_FALSE(b.overflowing());
  EXPECT_EQ(take_ok(b), "ok");
  auto bad = b.take();
  ASSERT_TRUE(bad);
  ASSERT_FALSE(*bad);
  EXPECT_EQ(bad->error().code, EPROTO);
  EXPECT_EQ(bad->error().message, "line longer than 8 bytes");
  EXPECT_EQ(take_ok(b), "next");
  EXPECT_FALSE(b.take());
}

TEST(LineBufferTest, DefaultLimitIsOneMebibyte) {
  LineBuffer b;
  b.feed(std::string(kMaxLineBytes, 'a'));
  EXPECT_FALSE(b.overflowing());
  b.feed("a");
  EXPECT_TRUE(b.overflowing());
  b.feed("\n");
  auto bad = b.take();
  ASSERT_TRUE(bad && !*bad);
  EXPECT_EQ(bad->error().code, EPROTO);
}

TEST(LineBufferTest, Clear) {
  LineBuffer b{4};
  b.feed("a\nbcdefg");
  b.clear();
  EXPECT_FALSE(b.take());
  EXPECT_FALSE(b.overflowing());
  b.feed("x\n");
  EXPECT_EQ(take_ok(b), "x");
}

TEST(ParseRequest, Valid) {
  auto r = parse_request(R"({"id":7,"method":"link.add","params":{"name":"mv1"}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->id, 7);
  EXPECT_EQ(r->method, "link.add");
  EXPECT_EQ(r->params, Json::parse(R"({"name":"mv1"})"));
  auto s = parse_request(R"({"id":"x","method":"ping","params":{}})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, "x");
  auto n = parse_request(R"({"method":"ping","params":{}})");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->id.is_null());
}

TEST(ParseRequest, Errors) {
  const auto err = [](std::string_view line) {
    auto r = parse_request(line);
    EXPECT_FALSE(r) << line;
    EXPECT_EQ(r ? 0 : r.error().code, EPROTO) << line;
    return r ? std::string{} : r.error().message;
  };
  EXPECT_EQ(err("{"), "malformed request: not a JSON value");
  EXPECT_EQ(err(""), "malformed request: not a JSON value");
  EXPECT_EQ(err("{} x"), "malformed request: not a JSON value");
  EXPECT_EQ(err("[1]"), "malformed request: not a JSON object");
  EXPECT_EQ(err(R"({"id":1,"params":{}})"), "malformed request: \"method\" is missing");
  EXPECT_EQ(err(R"({"id":1,"method":5,"params":{}})"),
            "malformed request: \"method\" must be a non-empty string");
  EXPECT_EQ(err(R"({"id":1,"method":"","params":{}})"),
            "malformed request: \"method\" must be a non-empty string");
  EXPECT_EQ(err(R"({"id":1,"method":"ping"})"), "malformed request: \"params\" is missing");
  EXPECT_EQ(err(R"({"id":1,"method":"ping","params":[]})"),
            "malformed request: \"params\" must be an object");
  EXPECT_EQ(err(R"({"id":{},"method":"ping","params":{}})"),
            "malformed request: \"id\" must be an integer, a string or null");
  EXPECT_EQ(err(R"({"id":1.5,"method":"ping","params":{}})"),
            "malformed request: \"id\" must be an integer, a string or null");
}

TEST(Replies, ExactShapes) {
  EXPECT_EQ(reply_ok(7, Json::object()), "{\"id\":7,\"result\":{}}\n");
  EXPECT_EQ(reply_ok(7, Json{{"pong", true}}), "{\"id\":7,\"result\":{\"pong\":true}}\n");
  EXPECT_EQ(reply_error(7, Error{EADDRINUSE, "RTNETLINK answers: Address already in use"}),
            "{\"id\":7,\"error\":{\"code\":\"EADDRINUSE\",\"errno\":98,\"message\":\"RTNETLINK "
            "answers: Address already in use\"}}\n");
  EXPECT_EQ(reply_error(nullptr, Error{EPROTO, "malformed request: not a JSON value"}),
            "{\"id\":null,\"error\":{\"code\":\"EPROTO\",\"errno\":71,\"message\":\"malformed "
            "request: not a JSON value\"}}\n");
  EXPECT_EQ(reply_error("a", Error{EOPNOTSUPP, "unknown method \"x\""}),
            "{\"id\":\"a\",\"error\":{\"code\":\"EOPNOTSUPP\",\"errno\":95,\"message\":\"unknown "
            "method \\\"x\\\"\"}}\n");
}

TEST(Replies, AlwaysOneLine) {
  const std::string r = reply_error(1, Error{EINVAL, "two\nlines\r"});
  EXPECT_EQ(r.find('\n'), r.size() - 1);
  EXPECT_NE(r.find("two lines "), std::string::npos);
  // Bytes that are not UTF-8 do not throw; they are replaced.
  const std::string bad = reply_ok(1, Json{{"name", std::string{"mv\xff"}}});
  EXPECT_EQ(bad.find('\n'), bad.size() - 1);
}

TEST(Greeting, Shape) {
  EXPECT_EQ(greeting(), "{\"subnicd\":\"" + std::string{version()} + "\",\"protocol\":1}\n");
  EXPECT_EQ(version(), "0.1.0");
  EXPECT_EQ(request_line(3, "link.del", Json{{"name", "mv1"}}),
            "{\"id\":3,\"method\":\"link.del\",\"params\":{\"name\":\"mv1\"}}\n");
}

}  // namespace
}  // namespace subnic::ctl
