// ctl::Client against FakeDaemon: greeting checks, calls, error reply mapping, timeouts.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "ctl/client.hpp"
#include "ctl/message.hpp"
#include "fake_daemon.hpp"

namespace subnic::ctl {
namespace {

using std::chrono::milliseconds;
using testing::FakeDaemon;

// Answers every request with reply_ok(id, {"echo": method}).
std::optional<std::string> echo(const std::string& line) {
  auto r = parse_request(line);
  if (!r) {
    return reply_error(nullptr, r.error());
  }
  return reply_ok(r->id, Json{{"echo", r->method}, {"params", r->params}});
}

TEST(ClientTest, GreetingAndCalls) {
  FakeDaemon d{greeting(), echo};
  auto c = Client::connect(d.path(), milliseconds{5000});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->greeting(), Json::parse(greeting()));
  auto r = c->call("link.del", Json{{"name", "mv1"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["echo"], "link.del");
  EXPECT_EQ((*r)["params"], Json::parse(R"({"name":"mv1"})"));
  ASSERT_TRUE(c->call("ping", Json::object()));
  const auto seen = d.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], R"({"id":1,"method":"link.del","params":{"name":"mv1"}})");
  EXPECT_EQ(parse_request(seen[1])->id, 2);
}

TEST(ClientTest, ErrorReplyBecomesErrnoAndMessage) {
  FakeDaemon d{greeting(), [](const std::string& line) -> std::optional<std::string> {
                 return reply_error(parse_request(line)->id,
                                    Error{EADDRINUSE, "RTNETLINK answers: Address already in use"});
               }};
  auto c = Client::connect(d.path(), milliseconds{5000});
  ASSERT_TRUE(c);
  auto r = c->call("link.set", Json{{"name", "mv1"}, {"up", true}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EADDRINUSE);
  EXPECT_EQ(r.error().message, "RTNETLINK answers: Address already in use");
}

TEST(ClientTest, ErrorReplyWithCodeOnlyOrNullId) {
  FakeDaemon d{greeting(), [](const std::string&) -> std::optional<std::string> {
                 return "{\"id\":null,\"error\":{\"code\":\"ENODEV\",\"message\":\"Device "
                        "\\\"x\\\" does not exist.\"}}\n";
               }};
  auto c = Client::connect(d.path(), milliseconds{5000});
  ASSERT_TRUE(c);
  auto r = c->call("link.show", Json{{"name", "x"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENODEV);
  EXPECT_EQ(r.error().message, "Device \"x\" does not exist.");
}

TEST(ClientTest, MalformedReplies) {
  for (const char* reply :
       {"nonsense\n", "{\"id\":99,\"result\":{}}\n", "{\"id\":1}\n", "{\"id\":1,\"error\":5}\n"}) {
    FakeDaemon d{greeting(), [reply](const std::string&) -> std::optional<std::string> {
                   return std::string{reply};
                 }};
    auto c = Client::connect(d.path(), milliseconds{5000});
    ASSERT_TRUE(c);
    auto r = c->call("ping", Json::object());
    ASSERT_FALSE(r) << reply;
    EXPECT_EQ(r.error().code, EPROTO) << reply;
    EXPECT_EQ(r.error().message.rfind("malformed reply from subnicd: ", 0), 0u) << reply;
  }
}

TEST(ClientTest, CallTimesOut) {
  FakeDaemon d{greeting(), [](const std::string&) { return std::optional<std::string>{}; }};
  auto c = Client::connect(d.path(), milliseconds{200});
  ASSERT_TRUE(c);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c->call("link.show", Json::object());
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ETIMEDOUT);
  EXPECT_EQ(r.error().message,
            "subnicd at " + d.path() + " did not send an answer to \"link.show\" within 200 ms");
  EXPECT_GE(took, milliseconds{190});
  EXPECT_LT(took, milliseconds{3000});
}

TEST(ClientTest, GreetingTimesOut) {
  FakeDaemon d{"", echo};
  auto c = Client::connect(d.path(), milliseconds{150});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ETIMEDOUT);
  EXPECT_EQ(c.error().message,
            "subnicd at " + d.path() + " did not send its greeting within 150 ms");
}

TEST(ClientTest, BadGreetings) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello\n", "not a JSON object"},
      {"{\"protocol\":1}\n", "no \"subnicd\" version string"},
      {"{\"subnicd\":\"9\"}\n", "no \"protocol\" number"},
  };
  for (const auto& [g, why] : cases) {
    FakeDaemon d{g, echo};
    auto c = Client::connect(d.path(), milliseconds{5000});
    ASSERT_FALSE(c) << g;
    EXPECT_EQ(c.error().code, EPROTO);
    EXPECT_EQ(c.error().message, "unexpected greeting from subnicd at " + d.path() + ": " + why);
  }
  FakeDaemon d{"{\"subnicd\":\"9.0\",\"protocol\":2}\n", echo};
  auto c = Client::connect(d.path(), milliseconds{5000});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message,
            "subnicd at " + d.path() + " speaks protocol 2; this client speaks protocol 1");
}

TEST(ClientTest, RefusedPeerGetsTheDaemonsMessage) {
  // What subnicd sends a peer outside root and the control group, in place of the greeting.
  FakeDaemon d{reply_error(nullptr, Error{EACCES,
                                          "Error: uid 65534 is neither root nor in group "
                                          "subnic"}),
               echo};
  auto c = Client::connect(d.path(), milliseconds{5000});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, EACCES);
  EXPECT_EQ(c.error().message, "Error: uid 65534 is neither root nor in group subnic");
}

TEST(ClientTest, DaemonClosesConnection) {
  {
    FakeDaemon d{"close", echo};
    auto c = Client::connect(d.path(), milliseconds{5000});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ECONNRESET);
    EXPECT_EQ(c.error().message, "subnicd at " + d.path() + " closed the connection");
  }
  FakeDaemon d{greeting(), [](const std::string&) { return std::optional<std::string>{"close"}; }};
  auto c = Client::connect(d.path(), milliseconds{5000});
  ASSERT_TRUE(c);
  auto r = c->call("ping", Json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ECONNRESET);
}

TEST(ClientTest, MissingSocket) {
  auto c = Client::connect("/nonexistent/subnicd.sock", milliseconds{1000});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ENOENT);
  EXPECT_EQ(c.error().message,
            "cannot connect to subnicd at /nonexistent/subnicd.sock: No such file or directory "
            "(is subnicd running?)");
}

TEST(ClientTest, RefusedSocket) {
  // A socket file nobody listens on.
  char tmpl[] = "/tmp/sntcli_test_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string{tmpl} + "/dead.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  auto c = Client::connect(path, milliseconds{1000});
  ::unlink(path.c_str());
  ::rmdir(tmpl);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ECONNREFUSED);
  EXPECT_EQ(c.error().message,
            "cannot connect to subnicd at " + path + ": Connection refused (is subnicd running?)");
}

TEST(ClientTest, PathTooLong) {
  auto c = Client::connect("/tmp/" + std::string(200, 'x'), milliseconds{1000});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ENAMETOOLONG);
}

TEST(ClientTest, DefaultSocketPath) {
  const char* old = std::getenv("SUBNIC_SOCKET");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("SUBNIC_SOCKET", "/tmp/elsewhere.sock", 1);
  EXPECT_EQ(default_socket_path(), "/tmp/elsewhere.sock");
  ::setenv("SUBNIC_SOCKET", "", 1);
  EXPECT_EQ(default_socket_path(), "/run/subnic/subnicd.sock");
  ::unsetenv("SUBNIC_SOCKET");
  EXPECT_EQ(default_socket_path(), "/run/subnic/subnicd.sock");
  if (old != nullptr) {
    ::setenv("SUBNIC_SOCKET", saved.c_str(), 1);
  }
}

}  // namespace
}  // namespace subnic::ctl
