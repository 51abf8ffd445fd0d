#include "core/crypto/signed_payload.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/ecdsa.h"

namespace custody::crypto {
namespace {

constexpr absl::string_view kContext("Custody-Signed-Payload-v1\0", 26);

// `value` must fit in `bytes` bytes (callers check lengths first).
void AppendBigEndian(std::string* out, uint64_t value, int bytes) {
  if (bytes < 8 && (value >> (8 * bytes)) != 0) std::abort();
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(value >> (8 * i)));
}

absl::Status CheckSizes(absl::string_view payload_type, absl::string_view payload) {
  if (payload_type.empty()) return absl::InvalidArgumentError("payload type is empty");
  if (payload_type.size() > kMaxPayloadTypeLength) {
    return absl::ResourceExhaustedError(
        absl::StrCat("payload type is longer than ", kMaxPayloadTypeLength, " bytes"));
  }
  if (payload.size() > kMaxSignedPayloadSize) {
    return absl::ResourceExhaustedError(absl::StrCat("signed payload of ", payload.size(),
                                                     " bytes exceeds the limit of ",
                                                     kMaxSignedPayloadSize));
  }
  return absl::OkStatus();
}

}  // namespace

std::string SignedPayloadToBeSigned(absl::string_view payload_type, absl::string_view payload) {
  std::string tbs;
  tbs.reserve(kContext.size() + 2 + payload_type.size() + 4 + payload.size());
  tbs.append(kContext.data(), kContext.size());
  AppendBigEndian(&tbs, payload_type.size(), 2);
  tbs.append(payload_type.data(), payload_type.size());
  AppendBigEndian(&tbs, payload.size(), 4);
  tbs.append(payload.data(), payload.size());
  return tbs;
}

v1::SignatureAlgorithm SignatureAlgorithmFor(Curve curve) {
  return curve == Curve::kP256 ? v1::SIGNATURE_ALGORITHM_ES256 : v1::SIGNATURE_ALGORITHM_ES384;
}

absl::StatusOr<v1::SignedPayload> SignPayload(const Signer& key, absl::string_view payload_type,
                                              std::string payload) {
  CUSTODY_RETURN_IF_ERROR(CheckSizes(payload_type, payload));
  CUSTODY_ASSIGN_OR_RETURN(std::string signature,
                           EcdsaSign(key, SignedPayloadToBeSigned(payload_type, payload)));
  v1::SignedPayload out;
  out.set_payload_type(std::string(payload_type));
  out.set_payload(std::move(payload));
  out.set_algorithm(SignatureAlgorithmFor(key.curve()));
  out.set_signature(std::move(signature));
  return out;
}

absl::StatusOr<absl::string_view> VerifySignedPayload(const v1::SignedPayload& signed_payload,
                                                      absl::string_view expected_type,
                                                      const EcPublicKey& key) {
  CUSTODY_RETURN_IF_ERROR(CheckSizes(signed_payload.payload_type(), signed_payload.payload()));
  if (signed_payload.payload_type() != expected_type) {
    return absl::InvalidArgumentError(absl::StrCat("payload type is \"",
                                                   absl::CHexEscape(signed_payload.payload_type()),
                                                   "\", expected \"", expected_type, "\""));
  }
  if (signed_payload.algorithm() != SignatureAlgorithmFor(key.curve())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signature algorithm ", v1::SignatureAlgorithm_Name(signed_payload.algorithm()),
        " does not match the signer's ", CurveName(key.curve()), " key"));
  }
  CUSTODY_RETURN_IF_ERROR(EcdsaVerify(
      key, SignedPayloadToBeSigned(signed_payload.payload_type(), signed_payload.payload()),
      signed_payload.signature()));
  return absl::string_view(signed_payload.payload());
}

}  // namespace custody::crypto
