#include "core/crypto/hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/internal/openssl_util.h"

namespace custody::crypto {

using internal::EvpMacCtxPtr;
using internal::OpenSslError;

absl::StatusOr<std::string> HmacCompute(HashAlgorithm algorithm, const SecretBytes& key,
                                        absl::string_view data) {
  if (key.empty()) return absl::InvalidArgumentError("HMAC key is empty");
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(internal::HmacAlgorithm()));
  if (ctx == nullptr) return OpenSslError(absl::StatusCode::kInternal, "HMAC context failed");
  std::string digest(algorithm == HashAlgorithm::kSha256 ? "SHA2-256" : "SHA2-384");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_end(),
  };
  std::string tag(DigestSize(algorithm), '\0');
  size_t len = 0;
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
          1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(tag.data()), &len, tag.size()) !=
          1 ||
      len != tag.size()) {
    return OpenSslError(absl::StatusCode::kInternal, "HMAC computation failed");
  }
  return tag;
}

absl::Status HmacVerify(HashAlgorithm algorithm, const SecretBytes& key, absl::string_view data,
                        absl::string_view tag) {
  if (tag.size() != DigestSize(algorithm)) {
    return absl::InvalidArgumentError(
        absl::StrCat("HMAC tag is ", tag.size(), " bytes, expected ", DigestSize(algorithm)));
  }
  CUSTODY_ASSIGN_OR_RETURN(std::string expected, HmacCompute(algorithm, key, data));
  if (!ConstantTimeEquals(expected, tag)) {
    return absl::UnauthenticatedError(
        absl::StrCat("HMAC-", HashName(algorithm), " tag does not match"));
  }
  return absl::OkStatus();
}

}  // namespace custody::crypto
