#include "owner/owner_server.h"

#include <unistd.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/keys/key_store.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to2_format.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/voucher_format.h"
#include "server/log.h"
#include "server/metered_store.h"

namespace custody::owner {
namespace {

constexpr size_t kMaxCaFileSize = 64 * 1024;
constexpr size_t kMaxTrustAnchorsSize = 16 * 1024;

// Fills the defaults of the owner's own fields and checks them.
absl::Status PrepareOwnerConfig(v1::OwnerConfig& c) {
  if (c.device_addresses().empty()) {
    return absl::InvalidArgumentError(
        "device_addresses is required: where devices reach this owner's device port "
        "(\"host:port\"), registered at the rendezvous service");
  }
  google::protobuf::RepeatedPtrField<v1::OwnerAddress> addresses;
  for (const std::string& text : c.device_addresses()) {
    CUSTODY_ASSIGN_OR_RETURN(*addresses.Add(),
                             protocol::ParseOwnerAddress(text, "device_addresses"));
  }
  CUSTODY_RETURN_IF_ERROR(protocol::ValidateOwnerAddresses(addresses, "device_addresses"));
  if (c.rendezvous_tls_ca_file().empty()) {
    return absl::InvalidArgumentError(
        "rendezvous_tls_ca_file is required: the TLS CA of the rendezvous services that "
        "imported vouchers name");
  }
  if (c.organization().empty()) c.set_organization("Owner");
  if (c.registration_lifetime_seconds() == 0) {
    c.set_registration_lifetime_seconds(kDefaultRegistrationLifetimeSeconds);
  }
  if (c.registration_lifetime_seconds() < 60) {
    return absl::InvalidArgumentError("registration_lifetime_seconds must be at least 60");
  }
  if (c.registration_retry_max_seconds() == 0) {
    c.set_registration_retry_max_seconds(kDefaultRegistrationRetryMaxSeconds);
  }
  if (c.registration_poll_seconds() == 0) {
    c.set_registration_poll_seconds(kDefaultRegistrationPollSeconds);
  }
  if (c.operational_certificate_validity_days() == 0) {
    c.set_operational_certificate_validity_days(kDefaultOperationalCertificateValidityDays);
  }
  if (c.operational_certificate_validity_days() > 3650) {
    return absl::InvalidArgumentError("operational_certificate_validity_days must be at most 3650");
  }
  if (c.check_in_interval_seconds() == 0) {
    c.set_check_in_interval_seconds(kDefaultCheckInIntervalSeconds);
  }
  if (c.check_in_interval_seconds() < protocol::kMinCheckInIntervalSeconds ||
      c.check_in_interval_seconds() > protocol::kMaxCheckInIntervalSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("check_in_interval_seconds must be ",
                                                   protocol::kMinCheckInIntervalSeconds, " to ",
                                                   protocol::kMaxCheckInIntervalSeconds));
  }
  // The fleet endpoint defaults to the first device address (this owner).
  if (c.fleet_endpoint().empty()) c.set_fleet_endpoint(c.device_addresses(0));
  CUSTODY_RETURN_IF_ERROR(
      protocol::ParseOwnerAddress(c.fleet_endpoint(), "fleet_endpoint").status());
  if (c.fleet_endpoint().size() > protocol::kMaxFleetEndpointLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("fleet_endpoint is at most ", protocol::kMaxFleetEndpointLength, " bytes"));
  }
  if (static_cast<size_t>(c.trust_anchor_files_size()) > protocol::kMaxTrustAnchors) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", protocol::kMaxTrustAnchors, " trust_anchor_files"));
  }
  if (c.has_replacement_rendezvous_info()) {
    for (v1::RendezvousEndpoint& endpoint :
         *c.mutable_replacement_rendezvous_info()->mutable_endpoints()) {
      if (endpoint.transport() == v1::RendezvousEndpoint::TRANSPORT_UNSPECIFIED) {
        endpoint.set_transport(v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS);
      }
    }
    // Checked as the replacement header will be, so that a bad value stops the
    // service now instead of failing every TO2.
    absl::Status valid = voucher::ValidateRendezvousInfo(c.replacement_rendezvous_info());
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("replacement_rendezvous_info: ", valid.message()));
    }
  }
  CUSTODY_RETURN_IF_ERROR(
      server::PrepareRateLimit(*c.mutable_to2_rate_limit(), 2, 20, "to2_rate_limit"));
  CUSTODY_RETURN_IF_ERROR(
      server::PrepareRateLimit(*c.mutable_to2_hello_budget(), 500, 1000, "to2_hello_budget"));
  // gRPC's own limit must let the largest TO2 message through, or it would be
  // refused before the service's precise checks.
  if (c.server().max_message_bytes() < protocol::kMaxTo2MessageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("server.max_message_bytes must be at least ", protocol::kMaxTo2MessageSize,
                     " for the owner service (the largest TO2 message)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Owner>> Owner::Open(v1::OwnerConfig config, Clock& clock,
                                                   SecureRandom& random, OwnerOptions options) {
  std::unique_ptr<Owner> o(new Owner());
  CUSTODY_RETURN_IF_ERROR(server::PrepareServerConfig(*config.mutable_server()));
  CUSTODY_RETURN_IF_ERROR(PrepareOwnerConfig(config));
  o->config_ = std::move(config);
  const v1::OwnerConfig& c = o->config_;
  const std::string& dir = c.server().state_dir();
  const crypto::Curve curve =
      c.curve() == v1::CURVE_P384 ? crypto::Curve::kP384 : crypto::Curve::kP256;
  CUSTODY_ASSIGN_OR_RETURN(o->identity_,
                           pki::LoadOrCreateServiceIdentity(
                               dir, server::IdentityOptions(c.server(), "owner"), clock, random));
  // The owner key and the device CA are created at first start, but never anew
  // beside devices whose vouchers name the lost key.
  CUSTODY_ASSIGN_OR_RETURN(o->store_, storage::OpenSqliteStore(dir + "/owner.db"));
  int64_t devices = 0;
  CUSTODY_RETURN_IF_ERROR(o->store_->Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(devices, tx.owned_devices().Count());
    return absl::OkStatus();
  }));
  const std::string owner_uri = keys::ConfiguredKeyUri(c.owner_key(), dir, "owner.key");
  const std::string ca_uri = keys::ConfiguredKeyUri(c.device_ca_key(), dir, "device-ca.key");
  std::vector<absl::string_view> files = {"device-ca.pem"};
  if (c.owner_key().empty()) files.push_back("owner.key");
  if (c.device_ca_key().empty()) files.push_back("device-ca.key");
  CUSTODY_RETURN_IF_ERROR(pki::RequireKeysOfExistingRecords(dir, files, devices, "devices"));
  bool created = false;
  absl::StatusOr<std::unique_ptr<crypto::Signer>> owner_key =
      keys::OpenOrCreateSigner(owner_uri, curve, random, /*may_create=*/devices == 0, &created);
  if (!owner_key.ok()) return Annotate(owner_key.status(), "the owner key");
  o->owner_key_ = *std::move(owner_key);
  // The public half, whatever holds the key: for the seller, who extends
  // vouchers to it.
  CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(
      dir + "/owner.pub", o->owner_key_->public_key().ToSpkiPem(), 0644, WriteMode::kReplace));
  if (created) {
    server::DefaultLogger().Info(
        "created the owner key",
        {{"key", owner_uri},
         {"public_key", dir + "/owner.pub"},
         {"fingerprint", "SHA256:" + HexEncode(o->owner_key_->public_key().Fingerprint())}});
  }
  absl::StatusOr<pki::KeyedCertificateAuthority> device_ca =
      pki::LoadOrCreateKeyedCertificateAuthority(
          dir, "device-ca", ca_uri,
          {c.organization() + " Fleet Device CA", c.organization(), "fleet"}, curve,
          absl::Hours(24 * 365 * 10), /*may_create=*/devices == 0, clock, random);
  if (!device_ca.ok()) return Annotate(device_ca.status(), "the device CA");
  o->device_ca_ = *std::move(device_ca);
  CUSTODY_ASSIGN_OR_RETURN(std::string rendezvous_ca,
                           ReadFileBounded(c.rendezvous_tls_ca_file(), kMaxCaFileSize));
  CUSTODY_RETURN_IF_ERROR(
      Annotate(crypto::Certificate::FromPem(rendezvous_ca).status(),
               absl::StrCat("rendezvous_tls_ca_file ", c.rendezvous_tls_ca_file())));

  // What every onboarded device gets.
  o->policy_.replacement_rendezvous_info = c.replacement_rendezvous_info();
  o->policy_.fleet_endpoint = c.fleet_endpoint();
  size_t anchors_size = 0;
  for (const std::string& path : c.trust_anchor_files()) {
    CUSTODY_ASSIGN_OR_RETURN(std::string pem, ReadFileBounded(path, kMaxCaFileSize));
    absl::StatusOr<crypto::Certificate> anchor = crypto::Certificate::FromPem(pem);
    if (!anchor.ok()) return Annotate(anchor.status(), absl::StrCat("trust_anchor_files ", path));
    o->policy_.trust_anchors_der.push_back(anchor->der());
    anchors_size += anchor->der().size();
  }
  // With 64 settings of the largest size, the enrolment must still fit in one
  // TO2 message (kMaxTo2MessageSize).
  if (anchors_size > kMaxTrustAnchorsSize) {
    return absl::InvalidArgumentError(absl::StrCat("trust_anchor_files: together at most ",
                                                   kMaxTrustAnchorsSize, " bytes of DER"));
  }
  // Without configured anchors, the device trusts this owner's TLS CA (its
  // fleet endpoint defaults to this owner).
  if (o->policy_.trust_anchors_der.empty()) {
    o->policy_.trust_anchors_der.push_back(o->identity_->tls_ca.der());
  }
  o->policy_.operational_certificate_validity =
      absl::Hours(24) * static_cast<int64_t>(c.operational_certificate_validity_days());
  o->policy_.check_in_interval_seconds = c.check_in_interval_seconds();
  o->policy_.organization = c.organization();
  o->keys_.voucher_keys = {o->owner_key_.get()};
  o->keys_.device_ca_key = o->device_ca_->key.get();
  o->keys_.device_ca_chain = {o->device_ca_->certificate};

  o->telemetry_ = std::make_unique<server::Telemetry>("owner", clock);
  o->store_ =
      std::make_unique<server::MeteredStore>(std::move(o->store_), o->telemetry_->metrics(), clock);
  o->frame_ = server::NewSessionFrame(c.server(), clock, *o->telemetry_);
  o->to2_limiter_ =
      std::make_unique<server::RateLimiter>(server::ToRateLimit(c.to2_rate_limit()), clock);
  server::RateLimit budget = server::ToRateLimit(c.to2_hello_budget());
  budget.max_peers = 1;
  o->to2_budget_ = std::make_unique<server::RateLimiter>(budget, clock);
  server::StreamOptions to2 = server::StreamOptionsFor(c.server(), OwnerService::kProtocol);
  to2.rate_limit = o->to2_limiter_.get();
  to2.budget = o->to2_budget_.get();
  to2.budget_step = protocol::MessageType::kTo2HelloDevice;
  o->to2_stream_ = std::make_unique<server::StreamKind>(*o->frame_, to2);

  RegistrarOptions registration;
  for (const std::string& text : c.device_addresses()) {
    CUSTODY_ASSIGN_OR_RETURN(v1::OwnerAddress address,
                             protocol::ParseOwnerAddress(text, "device_addresses"));
    registration.addresses.push_back(std::move(address));
  }
  registration.lifetime = absl::Seconds(c.registration_lifetime_seconds());
  registration.retry_max = absl::Seconds(c.registration_retry_max_seconds());
  registration.retry_initial = std::min(registration.retry_initial, registration.retry_max);
  registration.poll = absl::Seconds(c.registration_poll_seconds());
  RegisterFunction register_function = options.register_function
                                           ? std::move(options.register_function)
                                           : GrpcRegisterFunction(std::move(rendezvous_ca));
  o->registrar_ =
      std::make_unique<Registrar>(*o->store_, clock, random, o->keys_.voucher_keys,
                                  std::move(registration), std::move(register_function));

  OwnerService::Options service;
  service.to2 = {o->store_.get(), &clock, &random, &o->keys_, &o->policy_};
  service.stream = o->to2_stream_.get();
  service.tracker = &o->tracker_;
  service.after_message = std::move(options.after_message);
  o->service_ = std::make_unique<OwnerService>(std::move(service));
  Registrar* registrar = o->registrar_.get();
  o->admin_ = std::make_unique<OwnerAdminService>(
      *o->store_, clock, std::vector<crypto::EcPublicKey>{o->owner_key_->public_key()}, o->tracker_,
      [registrar] { registrar->Wake(); });
  o->services_.device = {o->service_.get()};
  o->services_.admin = {o->admin_.get()};
  o->services_.telemetry = o->telemetry_.get();
  CUSTODY_ASSIGN_OR_RETURN(o->services_.admin_roles, OwnerAdminService::Roles());
  o->services_.audit = o->store_.get();
  o->services_.clock = &clock;
  if (options.start_registrar) o->registrar_->Start();
  return o;
}

}  // namespace custody::owner
