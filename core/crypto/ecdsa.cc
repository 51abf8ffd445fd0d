#include "core/crypto/ecdsa.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
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

absl::StatusOr<std::string> EcdsaRawToDer(Curve curve, absl::string_view raw) {
  const size_t half = CurveFieldSize(curve);
  if (raw.size() != 2 * half) {
    return absl::InvalidArgumentError(absl::StrCat("raw ", CurveName(curve), " signature is ",
                                                   raw.size(), " bytes, expected ", 2 * half));
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  internal::OpenSslPtr<ECDSA_SIG, ECDSA_SIG_free> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(bytes + half, static_cast<int>(half), nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return OpenSslError(absl::StatusCode::kInternal, "building the ECDSA signature failed");
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0)
    return OpenSslError(absl::StatusCode::kInternal, "encoding the signature failed");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
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
