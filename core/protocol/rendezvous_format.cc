#include "core/protocol/rendezvous_format.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/crypto/signed_payload.h"
#include "core/voucher/voucher_format.h"

namespace custody::protocol {
namespace {

bool PrintableHost(absl::string_view host) {
  for (char c : host) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace

v1::OwnerAddress GrpcTlsAddress(absl::string_view host, uint32_t port) {
  v1::OwnerAddress address;
  address.set_host(std::string(host));
  address.set_port(port);
  address.set_transport(v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS);
  return address;
}

absl::StatusOr<v1::OwnerAddress> ParseOwnerAddress(absl::string_view text, absl::string_view what) {
  const size_t colon = text.rfind(':');
  uint32_t port = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(text.substr(colon + 1), &port) ||
      port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", text, "\" is not HOST:PORT with a port of 1..65535"));
  }
  absl::string_view host = text.substr(0, colon);
  if (absl::ConsumePrefix(&host, "[") && !absl::ConsumeSuffix(&host, "]")) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", text, "\" opens an IPv6 bracket it does not close"));
  }
  return GrpcTlsAddress(host, port);
}

std::string GrpcTarget(absl::string_view host, uint32_t port) {
  return host.find(':') == absl::string_view::npos ? absl::StrCat(host, ":", port)
                                                   : absl::StrCat("[", host, "]:", port);
}

absl::Status ValidateOwnerAddresses(
    const google::protobuf::RepeatedPtrField<v1::OwnerAddress>& addresses,
    absl::string_view check) {
  if (addresses.empty() || addresses.size() > static_cast<int>(kMaxOwnerAddresses)) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, check,
                       absl::StrCat("an address record has 1 to ", kMaxOwnerAddresses,
                                    " addresses, not ", addresses.size()));
  }
  for (int i = 0; i < addresses.size(); ++i) {
    const v1::OwnerAddress& address = addresses[i];
    const std::string where = absl::StrCat("address ", i + 1);
    if (address.host().empty() || address.host().size() > voucher::kMaxHostLength ||
        !PrintableHost(address.host())) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, check,
                         absl::StrCat(where, ": the host must be 1 to ", voucher::kMaxHostLength,
                                      " printable characters without spaces"));
    }
    if (address.port() < 1 || address.port() > 65535) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, check,
                         absl::StrCat(where, ": the port must be 1 to 65535"));
    }
    if (address.transport() != v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, check,
                         absl::StrCat(where, ": the transport must be TRANSPORT_GRPC_TLS"));
    }
  }
  return absl::OkStatus();
}

std::string OwnerChain(const voucher::VerifiedVoucher& verified) {
  std::string chain;
  chain.reserve(verified.owner_keys.size() * 32);
  for (const crypto::EcPublicKey& key : verified.owner_keys) chain += key.Fingerprint();
  return chain;
}

absl::StatusOr<v1::AddressRecord> VerifyAddressRecord(const v1::SignedPayload& signed_record,
                                                      const crypto::EcPublicKey& owner_key,
                                                      absl::string_view guid,
                                                      absl::string_view prefix) {
  const std::string format_check = absl::StrCat(prefix, ".address_record");
  if (signed_record.payload().size() > kMaxAddressRecordSize) {
    return CheckFailed(
        absl::StatusCode::kInvalidArgument, format_check,
        absl::StrCat("an address record is at most ", kMaxAddressRecordSize, " bytes"));
  }
  absl::StatusOr<absl::string_view> payload =
      crypto::VerifySignedPayload(signed_record, kAddressRecordType, owner_key);
  if (!payload.ok()) {
    const bool forged = payload.status().code() == absl::StatusCode::kUnauthenticated;
    return CheckFailed(
        forged ? absl::StatusCode::kUnauthenticated : absl::StatusCode::kInvalidArgument,
        forged ? absl::StrCat(prefix, ".owner_signature") : format_check,
        forged ? "the address record is not signed by the voucher's current owner"
               : payload.status().message());
  }
  v1::AddressRecord record;
  absl::Status parsed = ParseStrict(*payload, kMaxAddressRecordSize, "address record", &record);
  if (!parsed.ok()) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, format_check, parsed.message());
  }
  if (record.guid().value() != guid) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, format_check,
                       "the address record names another device's GUID");
  }
  CUSTODY_RETURN_IF_ERROR(ValidateOwnerAddresses(record.addresses(), format_check));
  if (record.to0_data_hash().algorithm() != v1::HASH_ALGORITHM_SHA256 ||
      record.to0_data_hash().value().size() != 32) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, format_check,
                       "the address record's to0_data_hash must be a SHA-256");
  }
  return record;
}

}  // namespace custody::protocol
