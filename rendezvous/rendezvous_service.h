// The rendezvous service's gRPC adapters: TO0 and TO1 (thin loops over
// core/protocol's sessions, behind a per-peer rate limit) and the admin API
// (mutual TLS, a role table checked per call before the method runs, every change
// audited with the caller).

#ifndef CUSTODY_RENDEZVOUS_RENDEZVOUS_SERVICE_H_
#define CUSTODY_RENDEZVOUS_RENDEZVOUS_SERVICE_H_

#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/crypto/x509_certificate.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to0_server.h"
#include "core/protocol/to1_server.h"
#include "core/storage/store.h"
#include "custody/v1/rendezvous.grpc.pb.h"
#include "server/admin_auth.h"
#include "server/session_frame.h"

namespace custody::rendezvous {

// custody.v1.Rendezvous on the serving frame (server/session_frame.h): each
// RegisterOwner stream is one To0ServerSession, each FindOwner stream one
// To1ServerSession.
class RendezvousService final
    : public v1::Rendezvous::WithRawCallbackMethod_RegisterOwner<
          v1::Rendezvous::WithRawCallbackMethod_FindOwner<v1::Rendezvous::Service>> {
 public:
  static constexpr server::StreamProtocol kTo0{"to0", "TO0 message", "owner", "TO0.AcceptOwner",
                                               protocol::kMaxRendezvousMessageSize};
  static constexpr server::StreamProtocol kTo1{"to1", "TO1 message", "device", "TO1.RVRedirect",
                                               protocol::kMaxTo1MessageSize};

  struct Options {
    protocol::To0ServerDeps to0;
    protocol::To1ServerDeps to1;
    // Stream kinds made with kTo0 and kTo1.
    server::StreamKind* to0_stream = nullptr;
    server::StreamKind* to1_stream = nullptr;
  };

  explicit RendezvousService(const Options& options) : options_(options) {}

  // Follows FDO TO0 over one stream.
  server::ByteReactor* RegisterOwner(grpc::CallbackServerContext* context) override;
  // Follows FDO TO1 over one stream.
  server::ByteReactor* FindOwner(grpc::CallbackServerContext* context) override;

 private:
  Options options_;
};

class RendezvousAdminService final : public v1::RendezvousAdmin::Service {
 public:
  RendezvousAdminService(storage::Store& store, Clock& clock) : store_(store), clock_(clock) {}

  // Who may call each method: checked by the admin port before the method runs
  // (server/admin_auth.h).
  static absl::StatusOr<server::AdminRoleTable> Roles();

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
};

}  // namespace custody::rendezvous

#endif  // CUSTODY_RENDEZVOUS_RENDEZVOUS_SERVICE_H_
