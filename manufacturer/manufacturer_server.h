// The manufacturer service assembled from its configuration: identity and keys
// from the state directory (created at first start), the model catalog, the SQLite
// store, and the gRPC services. manufacturer_server runs it until a signal; tests
// serve it in-process on loopback with server::StartServers.

#ifndef CUSTODY_MANUFACTURER_MANUFACTURER_SERVER_H_
#define CUSTODY_MANUFACTURER_MANUFACTURER_SERVER_H_

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/pki/service_identity.h"
#include "core/protocol/di_server.h"
#include "core/storage/store.h"
#include "custody/v1/config.pb.h"
#include "manufacturer/manufacturer_service.h"
#include "server/serve.h"
#include "server/session_frame.h"

namespace custody::manufacturer {

class Manufacturer {
 public:
  // Checks the configuration (PrepareServerConfig, models), then loads or creates
  // the state directory's keys and database. Errors name what failed.
  static absl::StatusOr<std::unique_ptr<Manufacturer>> Open(v1::ManufacturerConfig config,
                                                            Clock& clock, SecureRandom& random);
  Manufacturer(const Manufacturer&) = delete;
  Manufacturer& operator=(const Manufacturer&) = delete;

  const v1::ServerConfig& server_config() const { return config_.server(); }
  const pki::ServiceIdentity& identity() const { return *identity_; }
  const crypto::Signer& voucher_key() const { return *voucher_key_; }
  const pki::KeyedCertificateAuthority& device_ca() const { return *device_ca_; }
  storage::Store& store() { return *store_; }
  // The device-facing services (DI, support declarations) and the admin service,
  // with the admin roles.
  const server::Services& services() const { return services_; }

 private:
  Manufacturer() = default;

  v1::ManufacturerConfig config_;
  std::optional<pki::ServiceIdentity> identity_;
  std::unique_ptr<crypto::Signer> voucher_key_;
  std::optional<pki::KeyedCertificateAuthority> device_ca_;
  std::optional<ConfigModelCatalog> catalog_;
  std::unique_ptr<storage::Store> store_;
  protocol::ManufacturerKeys keys_;
  std::unique_ptr<server::Telemetry> telemetry_;
  std::unique_ptr<server::SessionFrame> frame_;
  std::unique_ptr<server::StreamKind> di_stream_;
  std::unique_ptr<DeviceInitializationService> di_;
  std::unique_ptr<SupportDeclarationService> support_;
  std::unique_ptr<ManufacturerAdminService> admin_;
  server::Services services_;
};

}  // namespace custody::manufacturer

#endif  // CUSTODY_MANUFACTURER_MANUFACTURER_SERVER_H_
