#include "core/crypto/ecdsa.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "core/crypto/internal/openssl_util.h"

namespace custody::crypto {

using internal::EvpMdCtxPtr;
using internal::OpenSslError;

namespace {

const EVP_MD* MdForCurve(Curve curve) {
  return CurveHash(curve) == HashAlgorithm::kSha256 ? internal::Sha256Md() : internal::Sha384Md();
}

}  // namespace

absl::StatusOr<std::string> EcdsaSign(const Signer& key, absl::string_view data) {
  return key.Sign(data);
}

absl::Status EcdsaVerify(const EcPublicKey& key, absl::string_view data,
                         absl::string_view signature) {
  if (signature.empty()) return absl::InvalidArgumentError("signature is empty");
  if (signature.size() > MaxDerSignatureSize(key.curve())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signature of ", signature.size(), " bytes is too long for ", CurveName(key.curve())));
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, MdForCurve(key.curve()), nullptr,
                                             key.evp_pkey()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDSA verify init failed");
  }
  // 1: valid. 0: wrong signature. <0: malformed (not strict DER, r or s out of range).
  const int result = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(data.data()), data.size());
  internal::ClearOpenSslErrors();
  if (result == 1) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrCat("ECDSA ", CurveName(key.curve()),
                                                 " signature does not verify",
                                                 result < 0 ? " (malformed signature)" : ""));
}

}  // namespace custody::crypto
