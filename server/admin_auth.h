// Who is calling the admin API, and may they: checked once per call, before any
// service code runs.
//
// The admin port's TLS handshake already requires a client certificate chaining to
// the admin CA. AdminAuthorizer is installed on the admin port's credentials as
// gRPC's AuthMetadataProcessor, so gRPC runs it on every call's headers before the
// call reaches a service. It
//   1. finds the called method in the role table; a method the table does not name
//      is refused (PERMISSION_DENIED, admin.method), so a method added to a service
//      without a decision about its roles is unreachable, not open;
//   2. verifies the client certificate again against the admin CA at the current
//      time (defence in depth: a misconfigured port must not admit anyone;
//      UNAUTHENTICATED, admin.certificate);
//   3. reads the certificate's role and refuses a role the method does not allow
//      (PERMISSION_DENIED, admin.role).
// Every refusal is one log line, one audit event (action "admin.refused", target
// the method, in the service's audit log before the refusal is answered) and one
// increment of custody_admin_refusals_total{method,check}.
//
// A refusal from this layer carries no ErrorDetail (gRPC lets an auth processor set
// only the code and the message); its message is "<check>: <detail>", which
// ErrorDetailOf (server/grpc_status.h) reads back.
//
// The method bodies only ask who called (AdminCallerOf), for their own audit events.

#ifndef CUSTODY_SERVER_ADMIN_AUTH_H_
#define CUSTODY_SERVER_ADMIN_AUTH_H_

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/crypto/x509_certificate.h"
#include "core/pki/service_identity.h"
#include "core/storage/store.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/server_context.h"
#include "server/log.h"
#include "server/metrics.h"

namespace custody::server {

struct AdminCaller {
  std::string name;  // The certificate's common name.
  pki::AdminRole role;

  // "admin:<name> (<role>)", for audit events.
  std::string AuditActor() const;
  // An audit event by this caller.
  storage::AuditEvent Event(absl::Time now, absl::string_view action, absl::string_view target,
                            std::string details) const;
};

// The roles allowed to call each method, by full method name
// ("/custody.v1.OwnerAdmin/ImportVouchers").
using AdminRoleTable = absl::flat_hash_map<std::string, std::vector<pki::AdminRole>>;

// The role table of the gRPC service `service` (its full name, e.g.
// "custody.v1.OwnerAdmin"), from (method name, roles) pairs. INTERNAL naming the
// method when a method of the service is missing, named twice, has no role, or
// when a name is not a method of the service: the table must decide every method.
absl::StatusOr<AdminRoleTable> AdminRoles(
    absl::string_view service,
    std::initializer_list<std::pair<absl::string_view, std::vector<pki::AdminRole>>> roles);

// The methods every admin port serves besides the service's own: health checks and
// server reflection, open to both roles.
AdminRoleTable StandardAdminRoles();

// Adds `more` to `table`; INTERNAL naming a method both name.
absl::Status MergeAdminRoles(AdminRoleTable& table, const AdminRoleTable& more);

// The verified caller of an admin call: its certificate's common name and role.
// UNAUTHENTICATED (admin.certificate) when `context` carries no client certificate
// or it does not verify against `admin_ca` at `now`; PERMISSION_DENIED (admin.role)
// when it names no role.
absl::StatusOr<AdminCaller> AuthenticateAdmin(const grpc::AuthContext& context,
                                              const crypto::Certificate& admin_ca, absl::Time now);

// Who called, for a method body on the admin port, where AdminAuthorizer has
// already verified the certificate and its role: the certificate's common name and
// role, read without verifying again. UNAUTHENTICATED when the call carries no
// client certificate (a service wrongly served on a port without the authorizer).
absl::StatusOr<AdminCaller> AdminCallerOf(const grpc::ServerContext& context);

class AdminAuthorizer final : public grpc::AuthMetadataProcessor {
 public:
  struct Options {
    AdminRoleTable roles;
    // Client certificates must chain to it; copied.
    const crypto::Certificate* admin_ca = nullptr;
    Clock* clock = nullptr;
    // Where refusals are audited; none when null (tests of the decision alone).
    storage::Store* audit = nullptr;
    // custody_admin_refusals_total is added here when not null.
    MetricsRegistry* metrics = nullptr;
    // DefaultLogger() when null.
    Logger* log = nullptr;
  };
  explicit AdminAuthorizer(Options options);

  // The decision alone: the caller, or the refusal (see the file comment).
  absl::StatusOr<AdminCaller> Authorize(absl::string_view method,
                                        const grpc::AuthContext& context) const;

  // gRPC's hook: Authorize, and on a refusal its log line, audit event and metric.
  // Runs on the gRPC thread that read the call's headers; not blocking in gRPC's
  // sense (it never waits on another call), though a refusal waits for its audit
  // event's commit.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  void Refused(absl::string_view method, const grpc::AuthContext& context,
               const absl::Status& refusal);

  const AdminRoleTable roles_;
  const crypto::Certificate admin_ca_;
  Clock& clock_;
  storage::Store* const audit_;
  CounterFamily* const refusals_;
  Logger& log_;
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_ADMIN_AUTH_H_
