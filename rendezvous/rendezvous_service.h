// The rendezvous service's gRPC adapters: TO0 and TO1 (thin loops over
// core/protocol's sessions, behind a per-peer rate limit) and the admin API
// (mutual TLS, roles per RPC, every change audited with the caller).

#ifndef CUSTODY_RENDEZVOUS_RENDEZVOUS_SERVICE_H_
#define CUSTODY_RENDEZVOUS_RENDEZVOUS_SERVICE_H_

#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/crypto/x509_certificate.h"
#include "core/protocol/to0_server.h"
#include "core/protocol/to1_server.h"
#include "core/storage/store.h"
#include "custody/v1/rendezvous.grpc.pb.h"
#include "server/rate_limiter.h"
#include "server/session_reactor.h"
#include "server/session_stream.h"
#include "server/step_deadlines.h"

namespace custody::rendezvous {

// custody.v1.Rendezvous, registered by hand over raw bytes (server/session_stream.h).
class RendezvousService final : public grpc::Service {
 public:
  struct Options {
    protocol::To0ServerDeps to0;
    protocol::To1ServerDeps to1;
    absl::Duration step_deadline = absl::Seconds(30);
    server::StepDeadlines* deadlines = nullptr;
    server::RateLimiter* to0_limiter = nullptr;
    server::RateLimiter* to1_limiter = nullptr;
  };

  explicit RendezvousService(const Options& options);

  grpc::Status RegisterOwner(grpc::ServerContext* context, server::ByteStream* stream);
  server::ByteReactor* FindOwner(grpc::CallbackServerContext* context);

 private:
  Options options_;
};

class RendezvousAdminService final : public v1::RendezvousAdmin::Service {
 public:
  RendezvousAdminService(storage::Store& store, Clock& clock, const crypto::Certificate& admin_ca)
      : store_(store), clock_(clock), admin_ca_(admin_ca) {}

  grpc::Status ListRegistrations(grpc::ServerContext* context,
                                 const v1::ListRegistrationsRequest* request,
                                 v1::ListRegistrationsResponse* response) override;
  grpc::Status DeleteRegistration(grpc::ServerContext* context,
                                  const v1::DeleteRegistrationRequest* request,
                                  v1::DeleteRegistrationResponse* response) override;
  grpc::Status ListTrustedManufacturers(grpc::ServerContext* context,
                                        const v1::ListTrustedManufacturersRequest* request,
                                        v1::ListTrustedManufacturersResponse* response) override;
  grpc::Status TrustManufacturer(grpc::ServerContext* context,
                                 const v1::TrustManufacturerRequest* request,
                                 v1::TrustManufacturerResponse* response) override;
  grpc::Status DistrustManufacturer(grpc::ServerContext* context,
                                    const v1::DistrustManufacturerRequest* request,
                                    v1::DistrustManufacturerResponse* response) override;

 private:
  storage::Store& store_;
  Clock& clock_;
  const crypto::Certificate& admin_ca_;
};

}  // namespace custody::rendezvous

#endif  // CUSTODY_RENDEZVOUS_RENDEZVOUS_SERVICE_H_
