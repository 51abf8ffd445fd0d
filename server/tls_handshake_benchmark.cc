// What one TLS handshake costs the server, with OpenSSL as the services use it
// through gRPC: the server's certificate chain from a service identity
// (core/pki), P-256 as the only ECDHE group (gRPC 1.51 sets exactly that), TLS 1.3.
// Client and server run in one thread over a memory BIO pair, so nothing but the
// handshake is measured; the time reported is the thread's CPU time inside the
// server's calls only (SSL_new, the handshake steps, SSL_free).
//
// Variants show where the time goes: OpenSSL's default of two TLS 1.3 session
// tickets (what gRPC's server sends) against none, X25519 against P-256, and
// TLS 1.2.
//
//   bazel run -c opt //server:tls_handshake_benchmark   (docs/performance.md)

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/pki/service_identity.h"

namespace custody::server {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr ParseCertificate(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}
using SslPtr = std::unique_ptr<SSL, SslFree>;

double ThreadCpuSeconds() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "tls_handshake_benchmark: %s\n", what.c_str());
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

struct Variant {
  const char* name;
  int version;         // TLS1_3_VERSION or TLS1_2_VERSION
  const char* groups;  // SSL_CTX_set1_groups_list
  int tickets;         // TLS 1.3 session tickets the server sends
};

// The server context: the chain and key as server/credentials.cc gives them to
// gRPC (server certificate, then the TLS CA).
SslCtxPtr ServerContext(const pki::ServiceIdentity& identity, const Variant& variant) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) Die("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ctx.get(), variant.version);
  SSL_CTX_set_max_proto_version(ctx.get(), variant.version);
  if (SSL_CTX_set1_groups_list(ctx.get(), variant.groups) != 1) Die("groups");
  SSL_CTX_set_num_tickets(ctx.get(), static_cast<size_t>(variant.tickets));
  X509Ptr leaf = ParseCertificate(identity.server_certificate.der());
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx.get(), leaf.get()) != 1) Die("certificate");
  X509Ptr ca = ParseCertificate(identity.tls_ca.der());
  // add1: the context takes its own reference.
  if (ca == nullptr || SSL_CTX_add1_chain_cert(ctx.get(), ca.get()) != 1) Die("chain");
  if (SSL_CTX_use_PrivateKey(ctx.get(), identity.server_key.evp_pkey()) != 1) Die("key");
  return ctx;
}

SslCtxPtr ClientContext(const pki::ServiceIdentity& identity, const Variant& variant) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) Die("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ctx.get(), variant.version);
  SSL_CTX_set_max_proto_version(ctx.get(), variant.version);
  if (SSL_CTX_set1_groups_list(ctx.get(), variant.groups) != 1) Die("groups");
  X509Ptr ca = ParseCertificate(identity.tls_ca.der());
  if (ca == nullptr || X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.get()) != 1) {
    Die("client trust");
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

// One full handshake; returns the server's CPU seconds.
double Handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 64 * 1024, &server_bio, 64 * 1024) != 1) Die("bio pair");
  SslPtr client(SSL_new(client_ctx));
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_connect_state(client.get());
  SSL_set_tlsext_host_name(client.get(), "localhost");
  SSL_set1_host(client.get(), "localhost");

  double server_cpu = 0;
  double start = ThreadCpuSeconds();
  SslPtr server(SSL_new(server_ctx));
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_accept_state(server.get());
  server_cpu += ThreadCpuSeconds() - start;

  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 16 && !(client_done && server_done); ++round) {
    if (!client_done) {
      int rc = SSL_do_handshake(client.get());
      if (rc == 1) {
        client_done = true;
      } else if (SSL_get_error(client.get(), rc) != SSL_ERROR_WANT_READ) {
        Die("client handshake");
      }
    }
    if (!server_done) {
      start = ThreadCpuSeconds();
      int rc = SSL_do_handshake(server.get());
      server_cpu += ThreadCpuSeconds() - start;
      if (rc == 1) {
        server_done = true;
      } else if (SSL_get_error(server.get(), rc) != SSL_ERROR_WANT_READ) {
        Die("server handshake");
      }
    }
  }
  if (!client_done || !server_done) Die("handshake did not finish");
  if (SSL_get_verify_result(client.get()) != X509_V_OK) Die("client did not verify the server");
  // The client reads what the server sent after its Finished (the tickets), as a
  // real peer would; not counted.
  char byte;
  SSL_read(client.get(), &byte, 1);
  start = ThreadCpuSeconds();
  server.reset();
  server_cpu += ThreadCpuSeconds() - start;
  return server_cpu;
}

int Main() {
  char dir_template[] = "/tmp/tls-handshake-benchmark.XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) Die("mkdtemp");
  pki::ServiceIdentityOptions options;
  options.service_name = "manufacturer";
  auto identity = pki::LoadOrCreateServiceIdentity(dir, options, SystemClock(), SystemRandom());
  if (!identity.ok()) Die(std::string(identity.status().message()));

  const Variant variants[] = {
      {"TLS 1.3, P-256, 2 session tickets (as gRPC's server)", TLS1_3_VERSION, "P-256", 2},
      {"TLS 1.3, P-256, no session tickets", TLS1_3_VERSION, "P-256", 0},
      {"TLS 1.3, X25519, no session tickets", TLS1_3_VERSION, "X25519", 0},
      {"TLS 1.2, P-256 (ECDHE-ECDSA-AES128-GCM)", TLS1_2_VERSION, "P-256", 0},
  };
  constexpr int kWarmup = 200;
  constexpr int kRuns = 2000;
  std::printf("server CPU per handshake, %d handshakes each (one thread, memory BIOs)\n\n", kRuns);
  std::printf("| handshake | server CPU |\n|---|---|\n");
  for (const Variant& variant : variants) {
    SslCtxPtr server_ctx = ServerContext(*identity, variant);
    SslCtxPtr client_ctx = ClientContext(*identity, variant);
    for (int i = 0; i < kWarmup; ++i) Handshake(server_ctx.get(), client_ctx.get());
    double total = 0;
    for (int i = 0; i < kRuns; ++i) total += Handshake(server_ctx.get(), client_ctx.get());
    std::printf("| %s | %.0f µs |\n", variant.name, total / kRuns * 1e6);
  }
  std::string cleanup = absl::StrFormat("rm -rf '%s'", dir);
  return std::system(cleanup.c_str()) == 0 ? 0 : 1;
}

}  // namespace
}  // namespace custody::server

int main() { return custody::server::Main(); }
