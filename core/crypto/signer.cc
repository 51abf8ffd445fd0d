#include "core/crypto/signer.h"

#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"

namespace custody::crypto {

SignatureAlgorithm SignatureAlgorithmOfCurve(Curve curve) {
  return curve == Curve::kP256 ? SignatureAlgorithm::kEs256 : SignatureAlgorithm::kEs384;
}

absl::string_view SignatureAlgorithmName(SignatureAlgorithm algorithm) {
  return algorithm == SignatureAlgorithm::kEs256 ? "ES256" : "ES384";
}

absl::Status HmacKey::Verify(HashAlgorithm algorithm, absl::string_view data,
                             absl::string_view tag) const {
  if (tag.size() != DigestSize(algorithm)) {
    return absl::InvalidArgumentError(
        absl::StrCat("HMAC tag is ", tag.size(), " bytes, expected ", DigestSize(algorithm)));
  }
  CUSTODY_ASSIGN_OR_RETURN(std::string expected, Compute(algorithm, data));
  if (!ConstantTimeEquals(expected, tag)) {
    return absl::UnauthenticatedError(
        absl::StrCat("HMAC-", HashName(algorithm), " tag does not match"));
  }
  return absl::OkStatus();
}

}  // namespace custody::crypto
