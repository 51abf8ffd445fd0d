#include "core/crypto/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "core/crypto/internal/openssl_util.h"

namespace custody::crypto {

using internal::EvpKdfCtxPtr;
using internal::OpenSslError;

absl::StatusOr<SecretBytes> Hkdf(HashAlgorithm algorithm, const SecretBytes& ikm,
                                 absl::string_view salt, absl::string_view info, size_t length) {
  if (ikm.empty()) return absl::InvalidArgumentError("HKDF input key material is empty");
  if (length == 0) return absl::InvalidArgumentError("HKDF output length is zero");
  if (length > 255 * DigestSize(algorithm)) {
    return absl::InvalidArgumentError(
        absl::StrCat("HKDF output length ", length, " exceeds 255 * ", DigestSize(algorithm)));
  }
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(internal::HkdfAlgorithm()));
  if (ctx == nullptr) return OpenSslError(absl::StatusCode::kInternal, "HKDF context failed");

  std::string digest(algorithm == HashAlgorithm::kSha256 ? "SHA2-256" : "SHA2-384");
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<uint8_t*>(ikm.data()), ikm.size());
  // Absent salt is HashLen zeros, which HMAC treats exactly like an empty key.
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<char*>(salt.data()), salt.size());
  }
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();

  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.mutable_data(), out.size(), params) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "HKDF derivation failed");
  }
  return out;
}

}  // namespace custody::crypto
