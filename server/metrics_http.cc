#include "server/metrics_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace custody::server {
namespace {

constexpr char kMetricsPath[] = "/metrics";
constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr int kListenBacklog = 64;
constexpr size_t kMinConnectionMemory = 4 * 1024;

struct ListenAddress {
  sockaddr_storage storage = {};
  socklen_t length = 0;
};

absl::StatusOr<ListenAddress> ParseAddress(const std::string& address) {
  auto bad = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", absl::CHexEscape(address), "\": ", problem));
  };
  absl::string_view rest(address);
  absl::string_view host;
  bool ipv6 = false;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return bad("no ']' after the IPv6 address");
    host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("expected ':PORT' after ']'");
    rest.remove_prefix(1);
    ipv6 = true;
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) return bad("expected IPV4:PORT or [IPV6]:PORT");
    host = rest.substr(0, colon);
    if (host.find(':') != absl::string_view::npos) {
      return bad("an IPv6 address must be in brackets, as in [::1]:9090");
    }
    rest.remove_prefix(colon + 1);
  }

  const absl::string_view port_text = rest;
  if (port_text.empty()) return bad("no port");
  for (char c : port_text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return bad(absl::StrCat("port \"", absl::CHexEscape(port_text), "\" is not a number"));
    }
  }
  uint32_t port = 0;
  for (char c : port_text) {
    port = port * 10 + static_cast<uint32_t>(c - '0');
    if (port > 65535) break;
  }
  if (port > 65535) return bad(absl::StrCat("port ", port_text, " is out of range 0..65535"));

  ListenAddress result;
  const std::string host_string(host);
  if (ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET6, host_string.c_str(), &in6->sin6_addr) != 1) {
      return bad(absl::StrCat("\"", absl::CHexEscape(host), "\" is not an IPv6 address"));
    }
    result.length = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&result.storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(port));
    // inet_pton takes only the dotted quad (no "127.1", no octal).
    if (::inet_pton(AF_INET, host_string.c_str(), &in4->sin_addr) != 1) {
      return bad(absl::StrCat("\"", absl::CHexEscape(host), "\" is not an IPv4 address"));
    }
    result.length = sizeof(sockaddr_in);
  }
  return result;
}

absl::Status CheckOptions(const MetricsHttpOptions& options) {
  if (options.connection_limit < 1) {
    return absl::InvalidArgumentError("metrics connection_limit must be at least 1");
  }
  if (options.per_ip_connection_limit < 1) {
    return absl::InvalidArgumentError("metrics per_ip_connection_limit must be at least 1");
  }
  if (options.connection_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("metrics connection_timeout must be at least 1 s");
  }
  if (options.connection_timeout > absl::Hours(24)) {
    return absl::InvalidArgumentError("metrics connection_timeout must be at most 24 h");
  }
  if (options.connection_memory_limit < kMinConnectionMemory) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics connection_memory_limit must be at least ", kMinConnectionMemory));
  }
  return absl::OkStatus();
}

std::string ErrnoText(int error) {
  char buffer[256];
  // The GNU strerror_r, which returns the message (not always in `buffer`).
  return strerror_r(error, buffer, sizeof(buffer));
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

struct ListeningSocket {
  Fd fd;
  int port;
};

// A socket bound to exactly `parsed`, listening and non-blocking.
absl::StatusOr<ListeningSocket> Listen(const std::string& address, const ListenAddress& parsed) {
  auto failed = [&](int error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", absl::CHexEscape(address), ": ", ErrnoText(error)));
  };
  const int family = parsed.storage.ss_family;
  Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return failed(errno);
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) return failed(errno);
  if (family == AF_INET6 &&
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) {
    return failed(errno);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&parsed.storage), parsed.length) != 0) {
    return failed(errno);
  }
  if (::listen(fd.get(), kListenBacklog) != 0) return failed(errno);
  sockaddr_storage bound = {};
  socklen_t length = sizeof(bound);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return failed(errno);
  }
  const int port = family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return ListeningSocket{std::move(fd), port};
}

void FreeBody(void* body) { delete static_cast<std::string*>(body); }

MHD_Result Respond(MHD_Connection* connection, unsigned int code, std::string body,
                   const char* content_type, const char* allow) {
  auto* owned = new std::string(std::move(body));
  MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
      owned->size(), owned->data(), &FreeBody, owned);
  if (response == nullptr) {
    delete owned;
    return MHD_NO;  // MHD closes the connection.
  }
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  if (allow != nullptr) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
  const MHD_Result queued = MHD_queue_response(connection, code, response);
  MHD_destroy_response(response);
  return queued;
}

// Answers on the first call for each request, before any request body is read:
// nothing served here takes one. Never logs the request.
MHD_Result HandleRequest(void* cls, MHD_Connection* connection, const char* url, const char* method,
                         const char* /*version*/, const char* /*upload_data*/,
                         size_t* /*upload_data_size*/, void** /*request_state*/) {
  const auto* registry = static_cast<const MetricsRegistry*>(cls);
  if (std::strcmp(url, kMetricsPath) != 0) {
    return Respond(connection, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain; charset=utf-8",
                   nullptr);
  }
  if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
      std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
    return Respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                   "text/plain; charset=utf-8", "GET, HEAD");
  }
  // HEAD: MHD sends the headers (with Content-Length) and no body.
  return Respond(connection, MHD_HTTP_OK, registry->Render(), kMetricsContentType, nullptr);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, const MetricsRegistry& registry,
    const MetricsHttpOptions& options) {
  absl::StatusOr<ListenAddress> parsed = ParseAddress(address);
  if (!parsed.ok()) return parsed.status();
  if (absl::Status status = CheckOptions(options); !status.ok()) return status;
  absl::StatusOr<ListeningSocket> listening = Listen(address, *parsed);
  if (!listening.ok()) return listening.status();

  // MHD gets a descriptor of its own, which MHD_stop_daemon closes. On a failed
  // start it closes that descriptor on some paths and not on others, so it is never
  // touched again: shutting the socket down through ours stops it listening either
  // way, and at worst one descriptor of a dead socket leaks.
  const int mhd_fd = ::fcntl(listening->fd.get(), F_DUPFD_CLOEXEC, 0);
  if (mhd_fd < 0) {
    return absl::InternalError(absl::StrCat("metrics endpoint on ", absl::CHexEscape(address),
                                            ": dup: ", ErrnoText(errno)));
  }
  const unsigned int timeout_seconds = static_cast<unsigned int>(
      absl::ToInt64Seconds(absl::Ceil(options.connection_timeout, absl::Seconds(1))));
  MHD_OptionItem items[] = {
      {MHD_OPTION_LISTEN_SOCKET, mhd_fd, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(options.connection_limit), nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, static_cast<intptr_t>(options.per_ip_connection_limit),
       nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(timeout_seconds), nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(options.connection_memory_limit),
       nullptr},
      {MHD_OPTION_END, 0, nullptr},
  };
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(registry, listening->port));
  // No MHD_USE_ERROR_LOG: libmicrohttpd prints nothing, about requests or otherwise.
  server->daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0,
                                     /*apc=*/nullptr, /*apc_cls=*/nullptr, &HandleRequest,
                                     const_cast<MetricsRegistry*>(&server->registry_),
                                     MHD_OPTION_ARRAY, items, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    ::shutdown(listening->fd.get(), SHUT_RDWR);
    return absl::InternalError(absl::StrCat("metrics endpoint on ", absl::CHexEscape(address),
                                            ": libmicrohttpd did not start"));
  }
  return server;  // Our descriptor closes here; MHD keeps its own.
}

MetricsHttpServer::~MetricsHttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace custody::server
