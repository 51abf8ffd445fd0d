#include "core/voucher/voucher_verify.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/curve.h"
#include "core/crypto/signed_payload.h"
#include "core/crypto/x509_verify.h"
#include "core/voucher/voucher_format.h"

namespace custody::voucher {
namespace {

using crypto::Certificate;
using crypto::CurveHash;
using crypto::EcPublicKey;
using crypto::HashAlgorithm;

absl::Status Fail(absl::StatusCode code, absl::string_view check, absl::string_view detail) {
  return CheckFailed(code, check, detail);
}

// `got` must be `expected_digest`, computed with `algorithm`.
absl::Status CheckDigest(const v1::Hash& got, HashAlgorithm algorithm,
                         absl::string_view expected_digest, absl::string_view check,
                         absl::string_view what) {
  if (got.algorithm() != ToWireHash(algorithm)) {
    return Fail(absl::StatusCode::kInvalidArgument, check,
                absl::StrCat(what, " uses ", v1::HashAlgorithm_Name(got.algorithm()), ", expected ",
                             crypto::HashName(algorithm)));
  }
  if (!crypto::ConstantTimeEquals(got.value(), expected_digest)) {
    return Fail(absl::StatusCode::kUnauthenticated, check, absl::StrCat(what, " does not match"));
  }
  return absl::OkStatus();
}

absl::Status CheckHashMatches(const v1::Hash& got, HashAlgorithm algorithm, absl::string_view data,
                              absl::string_view check, absl::string_view what) {
  return CheckDigest(got, algorithm, crypto::ComputeHash(algorithm, data), check, what);
}

// The device attestation key, from the leaf certificate's subject key.
absl::StatusOr<EcPublicKey> DeviceKey(const v1::OwnershipVoucher& voucher) {
  if (voucher.device_certificate_chain_size() == 0) {
    return Fail(absl::StatusCode::kInvalidArgument, "voucher.device_chain",
                "the device certificate chain is empty");
  }
  for (int i = 0; i < voucher.device_certificate_chain_size(); ++i) {
    if (voucher.device_certificate_chain(i).size() > crypto::kMaxCertificateDerSize) {
      return Fail(
          absl::StatusCode::kResourceExhausted, "voucher.device_chain",
          absl::StrCat("certificate ", i, " exceeds ", crypto::kMaxCertificateDerSize, " bytes"));
    }
  }
  absl::StatusOr<absl::string_view> spki =
      crypto::CertificateSpkiDer(voucher.device_certificate_chain(0));
  absl::StatusOr<EcPublicKey> key =
      spki.ok() ? EcPublicKey::FromSpkiDer(*spki) : absl::StatusOr<EcPublicKey>(spki.status());
  if (!key.ok()) {
    return Fail(key.status().code(), "voucher.device_chain",
                absl::StrCat("device certificate: ", key.status().message()));
  }
  return key;
}

// Parses every certificate and verifies the chain to a trusted root.
absl::Status CheckDeviceChainTrust(const v1::OwnershipVoucher& voucher,
                                   const EcPublicKey& device_key, const VerifyOptions& options) {
  std::vector<Certificate> chain;
  chain.reserve(voucher.device_certificate_chain_size());
  for (int i = 0; i < voucher.device_certificate_chain_size(); ++i) {
    absl::StatusOr<Certificate> cert = Certificate::FromDer(voucher.device_certificate_chain(i));
    if (!cert.ok()) {
      return Fail(cert.status().code(), "voucher.device_chain",
                  absl::StrCat("certificate ", i, ": ", cert.status().message()));
    }
    chain.push_back(*std::move(cert));
  }
  // The key this function returns must be the key OpenSSL verified.
  absl::StatusOr<EcPublicKey> parsed_key = chain.front().PublicKey();
  if (!parsed_key.ok() || !crypto::SameKey(*parsed_key, device_key)) {
    return Fail(absl::StatusCode::kInvalidArgument, "voucher.device_chain",
                "device certificate key differs between parsers");
  }
  if (chain.front().IsCa()) {
    return Fail(absl::StatusCode::kInvalidArgument, "voucher.device_chain",
                "the device certificate is a CA certificate");
  }
  std::vector<Certificate> intermediates(chain.begin() + 1, chain.end());
  absl::Status trusted = crypto::VerifyCertificateChain(chain.front(), intermediates,
                                                        options.trusted_roots, options.now);
  if (!trusted.ok()) return Fail(trusted.code(), "voucher.device_chain_trust", trusted.message());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VerifiedVoucher> VerifyVoucher(const v1::OwnershipVoucher& voucher,
                                              const VerifyOptions& options) {
  // voucher.format: the counts ParseVoucher enforces, for vouchers built in memory.
  if (static_cast<size_t>(voucher.entries_size()) > kMaxEntries ||
      static_cast<size_t>(voucher.device_certificate_chain_size()) > kMaxDeviceChainLength) {
    return Fail(absl::StatusCode::kResourceExhausted, "voucher.format",
                "too many entries or device certificates");
  }
  if (voucher.protocol_version() != kVoucherProtocolVersion) {
    return Fail(absl::StatusCode::kInvalidArgument, "voucher.protocol_version",
                absl::StrCat("voucher version ", voucher.protocol_version(),
                             " is not supported (expected ", kVoucherProtocolVersion, ")"));
  }

  // The header: parsed from its exact bytes, then checked field by field.
  v1::VoucherHeader header;
  absl::Status parsed = ParseStrict(voucher.header(), kMaxHeaderSize, "header", &header);
  if (!parsed.ok()) return Fail(parsed.code(), "voucher.header", parsed.message());
  CUSTODY_ASSIGN_OR_RETURN(EcPublicKey manufacturer_key, ValidateHeader(header));
  const HashAlgorithm manufacturer_hash = CurveHash(manufacturer_key.curve());

  // The device certificate chain, and the HMAC algorithm that its key implies.
  CUSTODY_ASSIGN_OR_RETURN(EcPublicKey device_key, DeviceKey(voucher));
  const HashAlgorithm hmac_hash = CurveHash(device_key.curve());
  if (voucher.header_hmac().algorithm() != ToWireHash(hmac_hash) ||
      voucher.header_hmac().value().size() != crypto::DigestSize(hmac_hash)) {
    return Fail(absl::StatusCode::kInvalidArgument, "voucher.header_hmac",
                absl::StrCat("header HMAC must be HMAC-", crypto::HashName(hmac_hash), " for a ",
                             CurveName(device_key.curve()), " device key"));
  }
  CUSTODY_RETURN_IF_ERROR(
      CheckHashMatches(header.device_certificate_chain_hash(), manufacturer_hash,
                       DeviceChainBytes(voucher.device_certificate_chain()),
                       "voucher.device_chain_hash", "device certificate chain hash"));
  if (!options.trusted_roots.empty()) {
    CUSTODY_RETURN_IF_ERROR(CheckDeviceChainTrust(voucher, device_key, options));
  }
  if (options.expected_manufacturer.has_value() &&
      !crypto::SameKey(*options.expected_manufacturer, manufacturer_key)) {
    return Fail(absl::StatusCode::kPermissionDenied, "voucher.manufacturer",
                "the voucher was issued by another manufacturer key");
  }

  // The entries: each signed by the key the previous one named.
  std::vector<EcPublicKey> owner_keys;
  owner_keys.reserve(voucher.entries_size());
  const std::string header_info = HeaderInfoBytes(header.guid().value(), header.device_info());
  // The header-info hash, once per hash algorithm (entries on one curve share it).
  std::string header_info_hash[2];
  std::string predecessor = FirstEntryPredecessorBytes(voucher);
  for (int i = 0; i < voucher.entries_size(); ++i) {
    const EcPublicKey& signer = owner_keys.empty() ? manufacturer_key : owner_keys.back();
    const HashAlgorithm hash = CurveHash(signer.curve());
    const std::string where = absl::StrCat("entry ", i);
    const std::string& entry_bytes = voucher.entries(i);

    v1::SignedPayload signed_entry;
    absl::Status entry_parsed = ParseStrict(entry_bytes, kMaxEntrySize, where, &signed_entry);
    if (!entry_parsed.ok())
      return Fail(entry_parsed.code(), "voucher.entry", entry_parsed.message());
    absl::StatusOr<absl::string_view> payload =
        crypto::VerifySignedPayload(signed_entry, kEntryPayloadType, signer);
    if (!payload.ok()) {
      const bool bad_signature = payload.status().code() == absl::StatusCode::kUnauthenticated;
      return Fail(payload.status().code(),
                  bad_signature ? "voucher.entry_signature" : "voucher.entry",
                  absl::StrCat(where, (i == 0 ? " (signed by the manufacturer key)" : ""), ": ",
                               payload.status().message()));
    }
    v1::VoucherEntryPayload entry;
    absl::Status payload_parsed = ParseStrict(*payload, kMaxEntrySize, where, &entry);
    if (!payload_parsed.ok()) {
      return Fail(payload_parsed.code(), "voucher.entry", payload_parsed.message());
    }
    if (entry.extra().size() > kMaxExtraSize) {
      return Fail(absl::StatusCode::kResourceExhausted, "voucher.entry",
                  absl::StrCat(where, " extra data exceeds ", kMaxExtraSize, " bytes"));
    }
    CUSTODY_RETURN_IF_ERROR(CheckHashMatches(
        entry.previous_entry_hash(), hash, predecessor, "voucher.entry_previous_hash",
        absl::StrCat(where, " hash of the ", i == 0 ? "header" : "previous entry")));
    std::string& expected_info = header_info_hash[hash == HashAlgorithm::kSha256 ? 0 : 1];
    if (expected_info.empty()) expected_info = crypto::ComputeHash(hash, header_info);
    CUSTODY_RETURN_IF_ERROR(CheckDigest(entry.header_info_hash(), hash, expected_info,
                                        "voucher.entry_header_info",
                                        absl::StrCat(where, " hash of GUID and device info")));
    absl::StatusOr<EcPublicKey> next_owner = FromWireKey(entry.next_owner_key());
    if (!next_owner.ok()) {
      return Fail(absl::StatusCode::kInvalidArgument, "voucher.entry_owner_key",
                  absl::StrCat(where, ": ", next_owner.status().message()));
    }
    owner_keys.push_back(*std::move(next_owner));
    predecessor = entry_bytes;
  }

  VerifiedVoucher verified{std::move(header), std::move(manufacturer_key), std::move(device_key),
                           std::move(owner_keys)};
  if (!verified.signed_by_manufacturer() && !options.allow_unsigned &&
      (options.expected_owner.has_value() || options.expected_manufacturer.has_value())) {
    return Fail(absl::StatusCode::kUnauthenticated, "voucher.unsigned",
                "the voucher has no entries, so nothing in it is signed and its header cannot "
                "be attributed to the manufacturer; only vouchers from the manufacturer's own "
                "records may be used unsigned");
  }
  if (options.expected_owner.has_value() &&
      !crypto::SameKey(*options.expected_owner, verified.current_owner())) {
    return Fail(absl::StatusCode::kPermissionDenied, "voucher.owner",
                "the voucher's current owner is another key");
  }
  return verified;
}

}  // namespace custody::voucher
