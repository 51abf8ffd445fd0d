// The metrics endpoint: a minimal HTTP server (libmicrohttpd,
// docs/decisions/0009-metrics-http-library.md) that serves a MetricsRegistry for
// Prometheus to scrape.
//
// It serves `GET /metrics` and `HEAD /metrics` (a query string is ignored) with
// `Content-Type: text/plain; version=0.0.4; charset=utf-8` and the body of
// MetricsRegistry::Render() at the time of the request. Any other path is 404 and
// any other method on /metrics is 405 (with `Allow: GET, HEAD`); nothing else is
// ever served. There is no TLS and no authentication: bind it to loopback (or a
// management network) and let the scraper reach it there. Requests are never
// logged.
//
// One internal thread (epoll) accepts connections and answers requests, under the
// limits in MetricsHttpOptions.
//
// Thread safety: port() may be called from any thread. Ownership: the server
// keeps a reference to the registry, which must outlive it. Not copyable or
// movable; destroying it stops the thread, closes every connection and the
// listening socket.

#ifndef CUSTODY_SERVER_METRICS_HTTP_H_
#define CUSTODY_SERVER_METRICS_HTTP_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/metrics.h"

struct MHD_Daemon;

namespace custody::server {

struct MetricsHttpOptions {
  // Connections open at once, over all peers. Past it, new connections wait in
  // the kernel's listen backlog (64 deep) until one closes.
  unsigned int connection_limit = 64;
  // Connections open at once from one IP address; more are closed at accept.
  unsigned int per_ip_connection_limit = 8;
  // A connection idle for this long is closed; rounded up to whole seconds.
  absl::Duration connection_timeout = absl::Seconds(10);
  // Memory for one connection's request headers and buffers; a request whose
  // headers do not fit is refused (the response body is allocated separately).
  size_t connection_memory_limit = 16 * 1024;
};

class MetricsHttpServer {
 public:
  // Binds `address` and starts serving `registry`.
  //
  // `address` is IPV4:PORT ("127.0.0.1:9090") or [IPV6]:PORT ("[::1]:9090"),
  // nothing else (no host names, no zone index); port 0 picks a free port (see
  // port()). The socket is bound to exactly that address (SO_REUSEADDR, no
  // SO_REUSEPORT; an IPv6 socket is IPv6-only, so "[::]" does not take IPv4 too).
  //
  // Returns INVALID_ARGUMENT naming the problem for a malformed address, a port
  // over 65535, or an option of zero (every limit must be at least 1, the timeout
  // at least 1 s, the memory limit at least 4 KiB); FAILED_PRECONDITION
  // "cannot listen on ADDRESS: <strerror>" when the socket cannot be bound or
  // listened on (the port is taken, the address is not local); INTERNAL when
  // libmicrohttpd cannot start its thread.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, const MetricsRegistry& registry,
      const MetricsHttpOptions& options = MetricsHttpOptions());

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  ~MetricsHttpServer();

  // The port bound: the one asked for, or the one the kernel picked for port 0.
  int port() const { return port_; }

 private:
  MetricsHttpServer(const MetricsRegistry& registry, int port) : registry_(registry), port_(port) {}

  const MetricsRegistry& registry_;
  const int port_;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_METRICS_HTTP_H_
