// The manufacturer service's gRPC adapters: device initialisation (a thin loop
// over core/protocol's DiServerSession) and the admin API (mutual TLS, a role
// table checked per call before the method runs, every change audited with the
// caller). The only files of the service that
// include grpcpp are this one and its .cc.

#ifndef CUSTODY_MANUFACTURER_MANUFACTURER_SERVICE_H_
#define CUSTODY_MANUFACTURER_MANUFACTURER_SERVICE_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/x509_certificate.h"
#include "core/protocol/di_server.h"
#include "core/storage/store.h"
#include "custody/v1/config.pb.h"
#include "custody/v1/manufacturer.grpc.pb.h"
#include "server/admin_auth.h"
#include "server/session_frame.h"

namespace custody::manufacturer {

// Models from the configuration. Immutable after construction; thread-safe.
class ConfigModelCatalog final : public protocol::ModelCatalog {
 public:
  // INVALID_ARGUMENT naming the model when a model is repeated, unnamed, or its
  // rendezvous info would not make a valid voucher header.
  static absl::StatusOr<ConfigModelCatalog> New(const v1::ManufacturerConfig& config,
                                                const crypto::Signer& voucher_key);
  absl::StatusOr<protocol::ModelProfile> Lookup(absl::string_view model) const override;

 private:
  std::map<std::string, protocol::ModelProfile> profiles_;
};

// custody.v1.DeviceInitialization on the serving frame (server/session_frame.h):
// each stream is one DiServerSession.
class DeviceInitializationService final
    : public v1::DeviceInitialization::WithRawCallbackMethod_Initialize<
          v1::DeviceInitialization::Service> {
 public:
  // A DI request is device info and a CSR of at most 16 KiB.
  static constexpr size_t kMaxRequestBytes = 32 * 1024;
  static constexpr server::StreamProtocol kProtocol{"di", "DI message", "device", "DI.Done",
                                                    kMaxRequestBytes};

  // `di` is the stream kind made with kProtocol.
  DeviceInitializationService(const protocol::DiServerDeps& deps, server::StreamKind& di)
      : deps_(deps), di_(di) {}

  // Follows FDO DI over one stream.
  server::ByteReactor* Initialize(grpc::CallbackServerContext* context) override;

 private:
  protocol::DiServerDeps deps_;
  server::StreamKind& di_;
};

// Public, on the device-facing port: a model's support declaration in force.
class SupportDeclarationService final : public v1::SupportDeclarations::Service {
 public:
  SupportDeclarationService(storage::Store& store, const protocol::ModelCatalog& models,
                            const crypto::EcPublicKey& voucher_key)
      : store_(store), models_(models), voucher_key_(voucher_key) {}

  grpc::Status GetSupportDeclaration(grpc::ServerContext* context,
                                     const v1::GetSupportDeclarationRequest* request,
                                     v1::GetSupportDeclarationResponse* response) override;

 private:
  storage::Store& store_;
  const protocol::ModelCatalog& models_;
  const crypto::EcPublicKey& voucher_key_;
};

class ManufacturerAdminService final : public v1::ManufacturerAdmin::Service {
 public:
  ManufacturerAdminService(storage::Store& store, Clock& clock, const crypto::Signer& voucher_key,
                           const protocol::ModelCatalog& models)
      : store_(store), clock_(clock), voucher_key_(voucher_key), models_(models) {}

  // Who may call each method: checked by the admin port before the method runs
  // (server/admin_auth.h).
  static absl::StatusOr<server::AdminRoleTable> Roles();

  grpc::Status ListVouchers(grpc::ServerContext* context, const v1::ListVouchersRequest* request,
                            v1::ListVouchersResponse* response) override;
  grpc::Status GetVoucher(grpc::ServerContext* context, const v1::GetVoucherRequest* request,
                          v1::GetVoucherResponse* response) override;
  grpc::Status ExtendVoucher(grpc::ServerContext* context, const v1::ExtendVoucherRequest* request,
                             v1::ExtendVoucherResponse* response) override;
  grpc::Status DeclareSupport(grpc::ServerContext* context,
                              const v1::DeclareSupportRequest* request,
                              v1::DeclareSupportResponse* response) override;

 private:
  storage::Store& store_;
  Clock& clock_;
  const crypto::Signer& voucher_key_;
  const protocol::ModelCatalog& models_;
};

}  // namespace custody::manufacturer

#endif  // CUSTODY_MANUFACTURER_MANUFACTURER_SERVICE_H_
