#include "server/metrics_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics.h"

namespace custody::server {
namespace {

using ::testing::HasSubstr;

// A connected TCP socket to the server, closed on destruction.
class Client {
 public:
  Client(int family, int port) : fd_(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    timeval timeout = {5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    if (family == AF_INET6) {
      sockaddr_in6 address = {};
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(static_cast<uint16_t>(port));
      address.sin6_addr = in6addr_loopback;
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    } else {
      sockaddr_in address = {};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<uint16_t>(port));
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    }
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { ::close(fd_); }

  bool connected() const { return connected_; }

  bool Send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

  // Everything until the server closes the connection (or 5 s pass).
  std::string ReadAll() {
    std::string out;
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }

  // True when data (or EOF) arrives within `timeout`.
  bool Readable(absl::Duration timeout) {
    pollfd entry = {fd_, POLLIN, 0};
    return ::poll(&entry, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) == 1;
  }

  // True when the server closed the connection (EOF or reset) within 5 s.
  bool ClosedByServer() {
    char byte;
    const ssize_t n = ::recv(fd_, &byte, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  int fd_;
  bool connected_ = false;
};

struct HttpResponse {
  std::string status_line;
  std::map<std::string, std::string> headers;  // Lower-case names.
  std::string body;
};

HttpResponse Parse(const std::string& raw) {
  HttpResponse response;
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return response;
  std::vector<std::string> lines = absl::StrSplit(raw.substr(0, end), "\r\n");
  response.status_line = lines[0];
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  response.body = raw.substr(end + 4);
  return response;
}

HttpResponse Exchange(int port, absl::string_view method, absl::string_view target,
                      int family = AF_INET) {
  Client client(family, port);
  EXPECT_TRUE(client.connected()) << std::strerror(errno);
  EXPECT_TRUE(client.Send(absl::StrCat(
      method, " ", target, " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")));
  return Parse(client.ReadAll());
}

class MetricsHttpServerTest : public ::testing::Test {
 protected:
  MetricsHttpServerTest() {
    requests_ = &registry_.AddCounter("custody_requests_total", "Requests.", {"method"});
    requests_->With({"TO1.HelloRV"}).Increment(3);
  }

  std::unique_ptr<MetricsHttpServer> StartOrDie(const std::string& address,
                                                const MetricsHttpOptions& options = {}) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
        MetricsHttpServer::Start(address, registry_, options);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    EXPECT_GT((*server)->port(), 0);
    return *std::move(server);
  }

  MetricsRegistry registry_;
  CounterFamily* requests_;
};

TEST_F(MetricsHttpServerTest, ServesTheRegistry) {
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("127.0.0.1:0");
  ASSERT_NE(server, nullptr);
  HttpResponse response = Exchange(server->port(), "GET", "/metrics");
  EXPECT_EQ(response.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.body, registry_.Render());
  EXPECT_EQ(response.headers["content-length"], absl::StrCat(response.body.size()));
  EXPECT_THAT(response.body, HasSubstr("custody_requests_total{method=\"TO1.HelloRV\"} 3\n"));

  // Rendered at each request.
  requests_->With({"TO1.HelloRV"}).Increment();
  response = Exchange(server->port(), "GET", "/metrics?debug=1");
  EXPECT_EQ(response.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(response.body, registry_.Render());
  EXPECT_THAT(response.body, HasSubstr("custody_requests_total{method=\"TO1.HelloRV\"} 4\n"));
}

TEST_F(MetricsHttpServerTest, HeadHasTheHeadersAndNoBody) {
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("127.0.0.1:0");
  ASSERT_NE(server, nullptr);
  HttpResponse response = Exchange(server->port(), "HEAD", "/metrics");
  EXPECT_EQ(response.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.headers["content-length"], absl::StrCat(registry_.Render().size()));
  EXPECT_EQ(response.body, "");
}

TEST_F(MetricsHttpServerTest, ServesOverIpv6) {
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("[::1]:0");
  ASSERT_NE(server, nullptr);
  HttpResponse response = Exchange(server->port(), "GET", "/metrics", AF_INET6);
  EXPECT_EQ(response.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(response.body, registry_.Render());
}

TEST_F(MetricsHttpServerTest, OtherPathsAreNotFound) {
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("127.0.0.1:0");
  ASSERT_NE(server, nullptr);
  for (const char* path :
       {"/", "/metrics/", "/metricsx", "/Metrics", "/debug/vars", "/../metrics"}) {
    HttpResponse response = Exchange(server->port(), "GET", path);
    EXPECT_EQ(response.status_line, "HTTP/1.1 404 Not Found") << path;
    EXPECT_EQ(response.body, "not found\n") << path;
  }
  EXPECT_EQ(Exchange(server->port(), "POST", "/other").status_line, "HTTP/1.1 404 Not Found");
}

TEST_F(MetricsHttpServerTest, OtherMethodsAreNotAllowed) {
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("127.0.0.1:0");
  ASSERT_NE(server, nullptr);
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"}) {
    HttpResponse response = Exchange(server->port(), method, "/metrics");
    EXPECT_EQ(response.status_line, "HTTP/1.1 405 Method Not Allowed") << method;
    EXPECT_EQ(response.headers["allow"], "GET, HEAD") << method;
    EXPECT_EQ(response.body, "method not allowed\n") << method;
  }
}

TEST_F(MetricsHttpServerTest, ATakenPortIsRefused) {
  std::unique_ptr<MetricsHttpServer> first = StartOrDie("127.0.0.1:0");
  ASSERT_NE(first, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", first->port());
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> second =
      MetricsHttpServer::Start(address, registry_, {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("cannot listen on ", address, ": Address already in use"));
  // The first one is unaffected.
  EXPECT_EQ(Exchange(first->port(), "GET", "/metrics").status_line, "HTTP/1.1 200 OK");
}

TEST_F(MetricsHttpServerTest, ANonLocalAddressIsRefused) {
  // 192.0.2.0/24 is TEST-NET-1: never assigned to this host.
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("192.0.2.1:9090", registry_, {});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(server.status().message(),
            "cannot listen on 192.0.2.1:9090: Cannot assign requested address");
}

TEST_F(MetricsHttpServerTest, ThePortIsFreedWhenTheServerStops) {
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("127.0.0.1:0");
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  server.reset();
  server = StartOrDie(address);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Exchange(server->port(), "GET", "/metrics").status_line, "HTTP/1.1 200 OK");
}

TEST_F(MetricsHttpServerTest, PerIpConnectionLimit) {
  MetricsHttpOptions options;
  options.per_ip_connection_limit = 2;
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  Client first(AF_INET, server->port());
  Client second(AF_INET, server->port());
  ASSERT_TRUE(first.connected());
  ASSERT_TRUE(second.connected());
  Client third(AF_INET, server->port());  // Connects (the kernel accepts), then is closed.
  EXPECT_TRUE(third.ClosedByServer());
  // The first two still work.
  ASSERT_TRUE(first.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(Parse(first.ReadAll()).status_line, "HTTP/1.1 200 OK");
}

TEST_F(MetricsHttpServerTest, ConnectionsPastTheLimitWaitForAFreeSlot) {
  MetricsHttpOptions options;
  options.connection_limit = 1;
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  Client first(AF_INET, server->port());
  ASSERT_TRUE(first.connected());
  // The second waits in the listen backlog: its request gets no answer yet.
  Client second(AF_INET, server->port());
  ASSERT_TRUE(second.connected());
  ASSERT_TRUE(second.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(second.Readable(absl::Milliseconds(300)));
  ASSERT_TRUE(first.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(Parse(first.ReadAll()).status_line, "HTTP/1.1 200 OK");
  // Once the first is closed, the second is served.
  EXPECT_EQ(Parse(second.ReadAll()).status_line, "HTTP/1.1 200 OK");
}

TEST_F(MetricsHttpServerTest, IdleConnectionsTimeOut) {
  MetricsHttpOptions options;
  options.connection_timeout = absl::Seconds(1);
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  Client idle(AF_INET, server->port());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.Send("GET /metrics HTTP/1.1\r\n"));  // And never finishes the request.
  const absl::Time start = absl::Now();
  EXPECT_TRUE(idle.ClosedByServer());
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
}

TEST_F(MetricsHttpServerTest, OversizedHeadersAreRefused) {
  MetricsHttpOptions options;
  options.connection_memory_limit = 4096;
  std::unique_ptr<MetricsHttpServer> server = StartOrDie("127.0.0.1:0", options);
  ASSERT_NE(server, nullptr);
  Client client(AF_INET, server->port());
  ASSERT_TRUE(client.connected());
  client.Send(absl::StrCat("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(8192, 'a'),
                           "\r\n\r\n"));
  const HttpResponse response = Parse(client.ReadAll());
  EXPECT_EQ(response.status_line, "HTTP/1.1 431 Request Header Fields Too Large");
}

struct BadAddress {
  std::string address;
  std::string message;
};

class MetricsHttpAddressTest : public ::testing::TestWithParam<BadAddress> {};

TEST_P(MetricsHttpAddressTest, IsRefused) {
  MetricsRegistry registry;
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(GetParam().address, registry, {});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, MetricsHttpAddressTest,
    ::testing::Values(
        BadAddress{"127.0.0.1:70000",
                   "metrics address \"127.0.0.1:70000\": port 70000 is out of range 0..65535"},
        BadAddress{"127.0.0.1:99999999999999999999",
                   "metrics address \"127.0.0.1:99999999999999999999\": port "
                   "99999999999999999999 is out of range 0..65535"},
        BadAddress{"nonsense", "metrics address \"nonsense\": expected IPV4:PORT or [IPV6]:PORT"},
        BadAddress{"", "metrics address \"\": expected IPV4:PORT or [IPV6]:PORT"},
        BadAddress{"localhost:9090",
                   "metrics address \"localhost:9090\": \"localhost\" is not an IPv4 address"},
        BadAddress{"127.1:9090",
                   "metrics address \"127.1:9090\": \"127.1\" is not an IPv4 address"},
        BadAddress{"::1:9090",
                   "metrics address \"::1:9090\": an IPv6 address must be in brackets, as in "
                   "[::1]:9090"},
        BadAddress{"[::1]9090", "metrics address \"[::1]9090\": expected ':PORT' after ']'"},
        BadAddress{"[::1:9090", "metrics address \"[::1:9090\": no ']' after the IPv6 address"},
        BadAddress{"[127.0.0.1]:9090",
                   "metrics address \"[127.0.0.1]:9090\": \"127.0.0.1\" is not an IPv6 address"},
        BadAddress{"[fe80::1%eth0]:9090",
                   "metrics address \"[fe80::1%eth0]:9090\": \"fe80::1%eth0\" is not an IPv6 "
                   "address"},
        BadAddress{"127.0.0.1:", "metrics address \"127.0.0.1:\": no port"},
        BadAddress{"127.0.0.1:-1", "metrics address \"127.0.0.1:-1\": port \"-1\" is not a number"},
        BadAddress{"127.0.0.1: 80",
                   "metrics address \"127.0.0.1: 80\": port \" 80\" is not a number"},
        BadAddress{"127.0.0.1:80\n",
                   "metrics address \"127.0.0.1:80\\n\": port \"80\\n\" is not a number"}));

TEST(MetricsHttpOptionsTest, ZeroLimitsAreRefused) {
  MetricsRegistry registry;
  auto start = [&](const MetricsHttpOptions& options) {
    return MetricsHttpServer::Start("127.0.0.1:0", registry, options).status();
  };
  MetricsHttpOptions options;
  options.connection_limit = 0;
  EXPECT_EQ(start(options),
            absl::InvalidArgumentError("metrics connection_limit must be at least 1"));
  options = {};
  options.per_ip_connection_limit = 0;
  EXPECT_EQ(start(options),
            absl::InvalidArgumentError("metrics per_ip_connection_limit must be at least 1"));
  options = {};
  options.connection_timeout = absl::Milliseconds(500);
  EXPECT_EQ(start(options),
            absl::InvalidArgumentError("metrics connection_timeout must be at least 1 s"));
  options = {};
  options.connection_memory_limit = 1024;
  EXPECT_EQ(start(options),
            absl::InvalidArgumentError("metrics connection_memory_limit must be at least 4096"));
}

}  // namespace
}  // namespace custody::server
