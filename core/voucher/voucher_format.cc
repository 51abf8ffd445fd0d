#include "core/voucher/voucher_format.h"

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/base/hex.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"

namespace custody::voucher {
namespace {

// `value` must fit the prefix (the header rules bound every field first).
void AppendLengthPrefixed(std::string* out, absl::string_view value, int width) {
  if ((static_cast<uint64_t>(value.size()) >> (8 * width)) != 0) std::abort();
  for (int i = width - 1; i >= 0; --i) {
    out->push_back(static_cast<char>(static_cast<uint64_t>(value.size()) >> (8 * i)));
  }
  out->append(value.data(), value.size());
}

absl::Status HeaderError(absl::string_view detail) {
  return CheckFailed(absl::StatusCode::kInvalidArgument, "voucher.header", detail);
}

absl::Status CheckText(absl::string_view value, absl::string_view field, size_t min_length,
                       size_t max_length) {
  if (value.size() < min_length || value.size() > max_length) {
    return HeaderError(absl::StrCat(field, " must be ", min_length, " to ", max_length,
                                    " bytes, not ", value.size()));
  }
  // Printable ASCII only: these fields end up in logs, terminals and messages, so
  // no control, C1 or bidirectional-override character may ride along.
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      return HeaderError(absl::StrCat(field, " contains a character outside printable ASCII"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRendezvousInfo(const v1::RendezvousInfo& info) {
  if (info.endpoints_size() == 0) return HeaderError("rendezvous info has no endpoint");
  if (static_cast<size_t>(info.endpoints_size()) > kMaxRendezvousEndpoints) {
    return HeaderError(
        absl::StrCat("rendezvous info has more than ", kMaxRendezvousEndpoints, " endpoints"));
  }
  for (int i = 0; i < info.endpoints_size(); ++i) {
    const v1::RendezvousEndpoint& endpoint = info.endpoints(i);
    const std::string where = absl::StrCat("rendezvous endpoint ", i);
    absl::Status host = CheckText(endpoint.host(), absl::StrCat(where, " host"), 1, kMaxHostLength);
    if (!host.ok()) return host;
    if (endpoint.port() == 0 || endpoint.port() > 65535) {
      return HeaderError(absl::StrCat(where, " port ", endpoint.port(), " is out of range"));
    }
    if (endpoint.transport() != v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS) {
      return HeaderError(absl::StrCat(where, " has no supported transport"));
    }
    if (endpoint.device_only() && endpoint.owner_only()) {
      return HeaderError(absl::StrCat(where, " is both device-only and owner-only"));
    }
    if (endpoint.delay_seconds() > kMaxRendezvousDelaySeconds) {
      return HeaderError(
          absl::StrCat(where, " delay exceeds ", kMaxRendezvousDelaySeconds, " seconds"));
    }
    if (endpoint.has_server_certificate_hash()) {
      const v1::Hash& hash = endpoint.server_certificate_hash();
      absl::StatusOr<crypto::HashAlgorithm> algorithm = FromWireHash(hash.algorithm());
      if (!algorithm.ok() || hash.value().size() != crypto::DigestSize(*algorithm)) {
        return HeaderError(absl::StrCat(where, " server certificate hash must be a SHA-256 or ",
                                        "SHA-384 digest"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::HashAlgorithm> FromWireHash(v1::HashAlgorithm algorithm) {
  switch (algorithm) {
    case v1::HASH_ALGORITHM_SHA256:
      return crypto::HashAlgorithm::kSha256;
    case v1::HASH_ALGORITHM_SHA384:
      return crypto::HashAlgorithm::kSha384;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported hash algorithm ", algorithm));
  }
}

v1::HashAlgorithm ToWireHash(crypto::HashAlgorithm algorithm) {
  return algorithm == crypto::HashAlgorithm::kSha256 ? v1::HASH_ALGORITHM_SHA256
                                                     : v1::HASH_ALGORITHM_SHA384;
}

v1::Hash MakeHash(crypto::HashAlgorithm algorithm, absl::string_view data) {
  v1::Hash hash;
  hash.set_algorithm(ToWireHash(algorithm));
  hash.set_value(crypto::ComputeHash(algorithm, data));
  return hash;
}

v1::PublicKey ToWireKey(const crypto::EcPublicKey& key) {
  v1::PublicKey out;
  out.set_curve(key.curve() == crypto::Curve::kP256 ? v1::CURVE_P256 : v1::CURVE_P384);
  out.set_spki_der(key.spki_der());
  return out;
}

absl::StatusOr<crypto::EcPublicKey> FromWireKey(const v1::PublicKey& key) {
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey parsed,
                           crypto::EcPublicKey::FromSpkiDer(key.spki_der()));
  const v1::Curve expected =
      parsed.curve() == crypto::Curve::kP256 ? v1::CURVE_P256 : v1::CURVE_P384;
  if (key.curve() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("key is on ", CurveName(parsed.curve()),
                                                   " but says ", v1::Curve_Name(key.curve())));
  }
  return parsed;
}

std::string HeaderInfoBytes(absl::string_view guid, const v1::DeviceInfo& device_info) {
  std::string out(guid);
  AppendLengthPrefixed(&out, device_info.model(), 2);
  AppendLengthPrefixed(&out, device_info.serial(), 2);
  AppendLengthPrefixed(&out, device_info.mud_url(), 2);
  return out;
}

std::string DeviceChainBytes(const google::protobuf::RepeatedPtrField<std::string>& chain) {
  std::string out;
  for (const std::string& der : chain) AppendLengthPrefixed(&out, der, 4);
  return out;
}

std::string FirstEntryPredecessorBytes(const v1::OwnershipVoucher& voucher) {
  return voucher.header() + voucher.header_hmac().value();
}

absl::Status ValidateDeviceInfo(const v1::DeviceInfo& info) {
  CUSTODY_RETURN_IF_ERROR(CheckText(info.model(), "model", 1, kMaxModelLength));
  CUSTODY_RETURN_IF_ERROR(CheckText(info.serial(), "serial", 1, kMaxSerialLength));
  CUSTODY_RETURN_IF_ERROR(CheckText(info.mud_url(), "MUD URL", 0, kMaxMudUrlLength));
  if (!info.mud_url().empty() && !absl::StartsWith(info.mud_url(), "https://")) {
    return HeaderError("MUD URL must be an https URL");
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::EcPublicKey> ValidateHeader(const v1::VoucherHeader& header) {
  if (header.protocol_version() != kVoucherProtocolVersion) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "voucher.protocol_version",
                       absl::StrCat("header version ", header.protocol_version(),
                                    " is not supported (expected ", kVoucherProtocolVersion, ")"));
  }
  if (header.guid().value().size() != kGuidSize) {
    return HeaderError(
        absl::StrCat("GUID is ", header.guid().value().size(), " bytes, expected ", kGuidSize));
  }
  CUSTODY_RETURN_IF_ERROR(ValidateDeviceInfo(header.device_info()));
  CUSTODY_RETURN_IF_ERROR(ValidateRendezvousInfo(header.rendezvous_info()));
  absl::StatusOr<crypto::EcPublicKey> manufacturer = FromWireKey(header.manufacturer_key());
  if (!manufacturer.ok()) {
    return CheckFailed(manufacturer.status().code(), "voucher.manufacturer_key",
                       manufacturer.status().message());
  }
  const crypto::HashAlgorithm chain_algorithm = crypto::CurveHash(manufacturer->curve());
  if (header.device_certificate_chain_hash().algorithm() != ToWireHash(chain_algorithm) ||
      header.device_certificate_chain_hash().value().size() !=
          crypto::DigestSize(chain_algorithm)) {
    return HeaderError(absl::StrCat("device certificate chain hash must be ",
                                    crypto::HashName(chain_algorithm),
                                    ", the hash of the manufacturer key's curve"));
  }
  return manufacturer;
}

std::string FormatGuid(absl::string_view guid) {
  const std::string hex = HexEncode(guid);
  if (hex.size() != 2 * kGuidSize) return hex;
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

absl::StatusOr<std::string> ParseGuid(absl::string_view text) {
  absl::StatusOr<std::string> guid = HexDecode(absl::StrReplaceAll(text, {{"-", ""}}));
  if (!guid.ok() || guid->size() != kGuidSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(text), "\" is not a GUID"));
  }
  return guid;
}

absl::StatusOr<v1::OwnershipVoucher> ParseVoucher(absl::string_view bytes) {
  v1::OwnershipVoucher voucher;
  absl::Status parsed = ParseStrict(bytes, kMaxVoucherSize, "voucher", &voucher);
  if (!parsed.ok()) return CheckFailed(parsed.code(), "voucher.format", parsed.message());
  if (static_cast<size_t>(voucher.entries_size()) > kMaxEntries) {
    return CheckFailed(absl::StatusCode::kResourceExhausted, "voucher.format",
                       absl::StrCat("voucher has ", voucher.entries_size(),
                                    " entries; the limit is ", kMaxEntries));
  }
  if (static_cast<size_t>(voucher.device_certificate_chain_size()) > kMaxDeviceChainLength) {
    return CheckFailed(
        absl::StatusCode::kResourceExhausted, "voucher.format",
        absl::StrCat("device certificate chain has ", voucher.device_certificate_chain_size(),
                     " certificates; the limit is ", kMaxDeviceChainLength));
  }
  return voucher;
}

}  // namespace custody::voucher
