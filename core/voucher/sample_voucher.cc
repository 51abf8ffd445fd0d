#include "core/voucher/sample_voucher.h"

#include <utility>

#include "core/base/status.h"
#include "core/crypto/x509_issue.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"

namespace custody::voucher {

absl::StatusOr<SampleVoucherSet> MakeSampleVoucherSet(const SampleOptions& options,
                                                      SecureRandom& random) {
  if (options.owners < 0 || static_cast<size_t>(options.owners) > kMaxEntries) {
    return absl::InvalidArgumentError("sample owner count is out of range");
  }
  const absl::Time not_before = options.now - absl::Hours(1);
  const absl::Time not_after = options.now + absl::Hours(24 * 365 * 20);
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey manufacturer_key,
                           crypto::EcPrivateKey::Generate(options.curve));
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey device_ca_key,
                           crypto::EcPrivateKey::Generate(options.curve));
  CUSTODY_ASSIGN_OR_RETURN(
      crypto::Certificate device_ca,
      crypto::CreateSelfSignedCa(device_ca_key, {"Sample Device CA", "Custody Sample", ""},
                                 not_before, not_after, random));
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey device_key,
                           crypto::EcPrivateKey::Generate(options.curve));
  crypto::CertificateProfile profile;
  profile.subject = {options.serial, "Custody Sample", options.model};
  profile.not_before = not_before;
  profile.not_after = not_after;
  profile.usage = crypto::CertificateUsage::kDeviceAttestation;
  CUSTODY_ASSIGN_OR_RETURN(
      crypto::Certificate device_certificate,
      crypto::IssueCertificate(device_ca, device_ca_key, device_key.public_key(), profile, random));
  SecretBytes secret(32);
  CUSTODY_RETURN_IF_ERROR(random.Fill(absl::MakeSpan(secret.mutable_data(), secret.size())));
  crypto::SoftwareHmacKey device_secret(std::move(secret));

  const std::vector<crypto::Certificate> chain = {device_certificate, device_ca};
  v1::VoucherHeader header;
  header.set_protocol_version(kVoucherProtocolVersion);
  CUSTODY_ASSIGN_OR_RETURN(std::string guid, random.Bytes(kGuidSize));
  header.mutable_guid()->set_value(guid);
  v1::RendezvousEndpoint* endpoint = header.mutable_rendezvous_info()->add_endpoints();
  endpoint->set_host(options.rendezvous_host);
  endpoint->set_port(options.rendezvous_port);
  endpoint->set_transport(v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS);
  header.mutable_device_info()->set_model(options.model);
  header.mutable_device_info()->set_serial(options.serial);
  header.mutable_device_info()->set_mud_url(options.mud_url);
  *header.mutable_manufacturer_key() = ToWireKey(manufacturer_key.public_key());
  *header.mutable_device_certificate_chain_hash() =
      DeviceChainHash(manufacturer_key.public_key(), chain);
  CUSTODY_ASSIGN_OR_RETURN(std::string header_bytes, BuildHeaderBytes(header));
  CUSTODY_ASSIGN_OR_RETURN(v1::Hash hmac, ComputeHeaderHmac(header_bytes, device_secret,
                                                            crypto::CurveHash(options.curve)));
  CUSTODY_ASSIGN_OR_RETURN(v1::OwnershipVoucher voucher,
                           CreateVoucher(std::move(header_bytes), std::move(hmac), chain));

  std::vector<v1::OwnershipVoucher> stages = {voucher};
  std::vector<crypto::EcPrivateKey> owner_keys;
  owner_keys.reserve(options.owners);
  for (int i = 0; i < options.owners; ++i) {
    CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey owner,
                             crypto::EcPrivateKey::Generate(options.curve));
    const crypto::EcPrivateKey& current = i == 0 ? manufacturer_key : owner_keys.back();
    // The sample's manufacturer made this header itself a few lines above.
    ExtendOptions extend;
    extend.trust_unsigned_header = i == 0;
    CUSTODY_ASSIGN_OR_RETURN(v1::OwnershipVoucher extended,
                             ExtendVoucher(stages.back(), current, owner.public_key(), extend));
    stages.push_back(std::move(extended));
    owner_keys.push_back(std::move(owner));
  }
  return SampleVoucherSet{std::move(manufacturer_key),   std::move(device_ca_key),
                          std::move(device_ca),          std::move(device_key),
                          std::move(device_certificate), std::move(device_secret),
                          std::move(owner_keys),         std::move(stages)};
}

}  // namespace custody::voucher
