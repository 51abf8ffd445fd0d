#include "manufacturer/manufacturer_server.h"

#include <string>
#include <utility>

#include "core/base/file_util.h"
#include "core/base/status.h"
#include "core/keys/key_store.h"
#include "core/storage/sqlite_store.h"
#include "server/metered_store.h"

namespace custody::manufacturer {

absl::StatusOr<std::unique_ptr<Manufacturer>> Manufacturer::Open(v1::ManufacturerConfig config,
                                                                 Clock& clock,
                                                                 SecureRandom& random) {
  std::unique_ptr<Manufacturer> m(new Manufacturer());
  CUSTODY_RETURN_IF_ERROR(server::PrepareServerConfig(*config.mutable_server()));
  m->config_ = std::move(config);
  const v1::ManufacturerConfig& c = m->config_;
  const std::string& dir = c.server().state_dir();
  const crypto::Curve curve =
      c.curve() == v1::CURVE_P384 ? crypto::Curve::kP384 : crypto::Curve::kP256;
  const std::string organization = c.organization().empty() ? "Manufacturer" : c.organization();
  CUSTODY_ASSIGN_OR_RETURN(
      m->identity_, pki::LoadOrCreateServiceIdentity(
                        dir, server::IdentityOptions(c.server(), "manufacturer"), clock, random));
  // The manufacturer's own keys: the voucher key and the device CA, created at
  // first start, but never anew beside vouchers made with the lost ones.
  CUSTODY_ASSIGN_OR_RETURN(m->store_, storage::OpenSqliteStore(dir + "/manufacturer.db"));
  int64_t vouchers = 0;
  CUSTODY_RETURN_IF_ERROR(m->store_->Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(vouchers, tx.vouchers().Count());
    return absl::OkStatus();
  }));
  const std::string voucher_uri = keys::ConfiguredKeyUri(c.voucher_key(), dir, "voucher.key");
  const std::string ca_uri = keys::ConfiguredKeyUri(c.device_ca_key(), dir, "device-ca.key");
  std::vector<absl::string_view> files = {"device-ca.pem"};
  if (c.voucher_key().empty()) files.push_back("voucher.key");
  if (c.device_ca_key().empty()) files.push_back("device-ca.key");
  CUSTODY_RETURN_IF_ERROR(pki::RequireKeysOfExistingRecords(dir, files, vouchers, "vouchers"));
  absl::StatusOr<std::unique_ptr<crypto::Signer>> voucher_key =
      keys::OpenOrCreateSigner(voucher_uri, curve, random, /*may_create=*/vouchers == 0);
  if (!voucher_key.ok()) return Annotate(voucher_key.status(), "the voucher key");
  m->voucher_key_ = *std::move(voucher_key);
  // The public half, whatever holds the key: for verifying vouchers and support
  // declarations (custodyctl ... --manufacturer-key).
  CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(
      dir + "/voucher.pub", m->voucher_key_->public_key().ToSpkiPem(), 0644, WriteMode::kReplace));
  absl::StatusOr<pki::KeyedCertificateAuthority> device_ca =
      pki::LoadOrCreateKeyedCertificateAuthority(
          dir, "device-ca", ca_uri, {organization + " Device CA", organization, "devices"}, curve,
          absl::Hours(24 * 365 * 30), /*may_create=*/vouchers == 0, clock, random);
  if (!device_ca.ok()) return Annotate(device_ca.status(), "the device CA");
  m->device_ca_ = *std::move(device_ca);
  CUSTODY_ASSIGN_OR_RETURN(m->catalog_, ConfigModelCatalog::New(c, *m->voucher_key_));

  m->keys_.voucher_key = m->voucher_key_.get();
  m->keys_.device_ca_key = m->device_ca_->key.get();
  m->keys_.device_ca_chain = {m->device_ca_->certificate};
  m->telemetry_ = std::make_unique<server::Telemetry>("manufacturer", clock);
  m->store_ =
      std::make_unique<server::MeteredStore>(std::move(m->store_), m->telemetry_->metrics(), clock);
  const protocol::DiServerDeps deps{m->store_.get(), &clock, &random, &m->keys_, &*m->catalog_};
  m->frame_ = server::NewSessionFrame(c.server(), clock, *m->telemetry_);
  m->di_stream_ = std::make_unique<server::StreamKind>(
      *m->frame_, server::StreamOptionsFor(c.server(), DeviceInitializationService::kProtocol));
  m->di_ = std::make_unique<DeviceInitializationService>(deps, *m->di_stream_);
  m->support_ = std::make_unique<SupportDeclarationService>(*m->store_, *m->catalog_,
                                                            m->voucher_key_->public_key());
  m->admin_ =
      std::make_unique<ManufacturerAdminService>(*m->store_, clock, *m->voucher_key_, *m->catalog_);
  m->services_.device = {m->di_.get(), m->support_.get()};
  m->services_.admin = {m->admin_.get()};
  m->services_.telemetry = m->telemetry_.get();
  CUSTODY_ASSIGN_OR_RETURN(m->services_.admin_roles, ManufacturerAdminService::Roles());
  m->services_.audit = m->store_.get();
  m->services_.clock = &clock;
  return m;
}

}  // namespace custody::manufacturer
