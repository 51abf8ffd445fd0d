#include "core/crypto/internal/openssl_util.h"

#include <openssl/err.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace custody::crypto::internal {
namespace {

template <typename T>
T* MustFetch(T* fetched, const char* name) {
  if (fetched == nullptr) {
    std::fprintf(stderr, "custody: OpenSSL provides no %s; cannot continue\n", name);
    std::abort();
  }
  return fetched;
}

}  // namespace

absl::Status OpenSslError(absl::StatusCode code, absl::string_view what) {
  std::string detail;
  unsigned long err;
  while ((err = ERR_get_error()) != 0) {
    const char* reason = ERR_reason_error_string(err);
    if (!detail.empty()) detail += "; ";
    if (reason != nullptr) {
      detail += reason;
    } else {
      absl::StrAppend(&detail, "error ", err);
    }
  }
  if (detail.empty()) return absl::Status(code, what);
  return absl::Status(code, absl::StrCat(what, " (", detail, ")"));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = MustFetch(EVP_MD_fetch(nullptr, "SHA2-256", nullptr), "SHA-256");
  return md;
}

const EVP_MD* Sha384Md() {
  static const EVP_MD* const md = MustFetch(EVP_MD_fetch(nullptr, "SHA2-384", nullptr), "SHA-384");
  return md;
}

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = MustFetch(EVP_MAC_fetch(nullptr, "HMAC", nullptr), "HMAC");
  return mac;
}

EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* const kdf = MustFetch(EVP_KDF_fetch(nullptr, "HKDF", nullptr), "HKDF");
  return kdf;
}

const EVP_CIPHER* Aes256GcmCipher() {
  static const EVP_CIPHER* const cipher =
      MustFetch(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr), "AES-256-GCM");
  return cipher;
}

absl::string_view BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return absl::string_view(data, static_cast<size_t>(len));
}

}  // namespace custody::crypto::internal
