#include "core/voucher/voucher_build.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/curve.h"
#include "core/crypto/hmac.h"
#include "core/crypto/signed_payload.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_verify.h"

namespace custody::voucher {

absl::StatusOr<std::string> BuildHeaderBytes(const v1::VoucherHeader& header) {
  CUSTODY_RETURN_IF_ERROR(ValidateHeader(header).status());
  std::string bytes = header.SerializeAsString();
  if (bytes.size() > kMaxHeaderSize) {
    return CheckFailed(
        absl::StatusCode::kResourceExhausted, "voucher.header",
        absl::StrCat("header of ", bytes.size(), " bytes exceeds the limit of ", kMaxHeaderSize));
  }
  return bytes;
}

namespace {

std::vector<std::string> DersOf(const std::vector<crypto::Certificate>& chain) {
  std::vector<std::string> ders;
  ders.reserve(chain.size());
  for (const crypto::Certificate& cert : chain) ders.push_back(cert.der());
  return ders;
}

}  // namespace

v1::Hash DeviceChainHash(const crypto::EcPublicKey& manufacturer_key,
                         const std::vector<crypto::Certificate>& chain) {
  return DeviceChainHash(manufacturer_key, DersOf(chain));
}

v1::Hash DeviceChainHash(const crypto::EcPublicKey& manufacturer_key,
                         const std::vector<std::string>& chain_der) {
  google::protobuf::RepeatedPtrField<std::string> ders(chain_der.begin(), chain_der.end());
  return MakeHash(crypto::CurveHash(manufacturer_key.curve()), DeviceChainBytes(ders));
}

absl::StatusOr<v1::Hash> ComputeHeaderHmac(absl::string_view header_bytes,
                                           const crypto::HmacKey& device_secret,
                                           crypto::HashAlgorithm algorithm) {
  CUSTODY_ASSIGN_OR_RETURN(std::string tag, device_secret.Compute(algorithm, header_bytes));
  v1::Hash hmac;
  hmac.set_algorithm(ToWireHash(algorithm));
  hmac.set_value(std::move(tag));
  return hmac;
}

absl::Status VerifyHeaderHmac(const v1::OwnershipVoucher& voucher,
                              const crypto::HmacKey& device_secret,
                              crypto::HashAlgorithm algorithm) {
  if (voucher.header_hmac().algorithm() != ToWireHash(algorithm)) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "voucher.header_hmac",
                       absl::StrCat("header HMAC is not HMAC-", crypto::HashName(algorithm)));
  }
  absl::Status status =
      device_secret.Verify(algorithm, voucher.header(), voucher.header_hmac().value());
  // A key that cannot answer now (a TPM, a token) is not a voucher for another device.
  if (status.code() == absl::StatusCode::kUnauthenticated ||
      status.code() == absl::StatusCode::kInvalidArgument) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "voucher.header_hmac",
                       "header HMAC does not match this device's secret");
  }
  return status;
}

absl::StatusOr<v1::OwnershipVoucher> CreateVoucher(
    std::string header_bytes, v1::Hash header_hmac,
    const std::vector<crypto::Certificate>& device_chain) {
  return CreateVoucher(std::move(header_bytes), std::move(header_hmac), DersOf(device_chain));
}

absl::StatusOr<v1::OwnershipVoucher> CreateVoucher(
    std::string header_bytes, v1::Hash header_hmac,
    const std::vector<std::string>& device_chain_der) {
  v1::OwnershipVoucher voucher;
  voucher.set_protocol_version(kVoucherProtocolVersion);
  voucher.set_header(std::move(header_bytes));
  *voucher.mutable_header_hmac() = std::move(header_hmac);
  for (const std::string& der : device_chain_der) voucher.add_device_certificate_chain(der);
  CUSTODY_RETURN_IF_ERROR(VerifyVoucher(voucher, VerifyOptions{}).status());
  return voucher;
}

absl::StatusOr<v1::OwnershipVoucher> ExtendVoucher(const v1::OwnershipVoucher& voucher,
                                                   const crypto::Signer& current_owner,
                                                   const crypto::EcPublicKey& next_owner,
                                                   const ExtendOptions& extend) {
  const std::string& extra = extend.extra;
  if (static_cast<size_t>(voucher.entries_size()) >= kMaxEntries) {
    return CheckFailed(
        absl::StatusCode::kResourceExhausted, "voucher.format",
        absl::StrCat("voucher already has the maximum of ", kMaxEntries, " entries"));
  }
  if (extra.size() > kMaxExtraSize) {
    return CheckFailed(absl::StatusCode::kResourceExhausted, "voucher.entry",
                       absl::StrCat("extra data exceeds ", kMaxExtraSize, " bytes"));
  }
  VerifyOptions options;
  options.expected_owner = current_owner.public_key();
  options.allow_unsigned = extend.trust_unsigned_header;
  CUSTODY_ASSIGN_OR_RETURN(VerifiedVoucher verified, VerifyVoucher(voucher, options));

  const crypto::HashAlgorithm hash = crypto::CurveHash(current_owner.curve());
  v1::VoucherEntryPayload entry;
  *entry.mutable_previous_entry_hash() =
      MakeHash(hash, voucher.entries().empty() ? FirstEntryPredecessorBytes(voucher)
                                               : voucher.entries(voucher.entries_size() - 1));
  *entry.mutable_header_info_hash() =
      MakeHash(hash, HeaderInfoBytes(verified.guid(), verified.header.device_info()));
  *entry.mutable_next_owner_key() = ToWireKey(next_owner);
  entry.set_extra(extra);
  CUSTODY_ASSIGN_OR_RETURN(
      v1::SignedPayload signed_entry,
      crypto::SignPayload(current_owner, kEntryPayloadType, entry.SerializeAsString()));
  v1::OwnershipVoucher extended = voucher;
  extended.add_entries(signed_entry.SerializeAsString());
  return extended;
}

}  // namespace custody::voucher
