#include "core/crypto/curve.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace custody::crypto {

absl::string_view CurveName(Curve curve) { return curve == Curve::kP256 ? "P-256" : "P-384"; }

absl::string_view CurveGroupName(Curve curve) {
  return curve == Curve::kP256 ? "prime256v1" : "secp384r1";
}

HashAlgorithm CurveHash(Curve curve) {
  return curve == Curve::kP256 ? HashAlgorithm::kSha256 : HashAlgorithm::kSha384;
}

size_t CurveFieldSize(Curve curve) { return curve == Curve::kP256 ? 32 : 48; }

size_t MaxDerSignatureSize(Curve curve) {
  // SEQUENCE { INTEGER r, INTEGER s }, each integer at most field size + 1 bytes.
  return curve == Curve::kP256 ? 72 : 104;
}

absl::StatusOr<Curve> ParseCurve(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "p256" || lower == "p-256" || lower == "prime256v1" || lower == "secp256r1") {
    return Curve::kP256;
  }
  if (lower == "p384" || lower == "p-384" || lower == "secp384r1") return Curve::kP384;
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported curve \"", absl::CHexEscape(name), "\"; use p256 or p384"));
}

}  // namespace custody::crypto
