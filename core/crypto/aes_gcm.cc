#include "core/crypto/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>

#include "absl/strings/str_cat.h"
#include "core/crypto/internal/openssl_util.h"

namespace custody::crypto {

using internal::EvpCipherCtxPtr;
using internal::OpenSslError;

namespace {

absl::Status CheckNonce(absl::string_view nonce) {
  if (nonce.size() != kAesGcmNonceSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-GCM nonce is ", nonce.size(), " bytes, expected ", kAesGcmNonceSize));
  }
  return absl::OkStatus();
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<Aes256Gcm> Aes256Gcm::New(SecretBytes key) {
  if (key.size() != kAesGcmKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-256-GCM key is ", key.size(), " bytes, expected ", kAesGcmKeySize));
  }
  return Aes256Gcm(std::move(key));
}

absl::StatusOr<std::string> Aes256Gcm::Seal(absl::string_view nonce, absl::string_view plaintext,
                                            absl::string_view aad) const {
  if (absl::Status s = CheckNonce(nonce); !s.ok()) return s;
  if (plaintext.size() > kAesGcmMaxPlaintextSize || aad.size() > kAesGcmMaxPlaintextSize) {
    return absl::ResourceExhaustedError("AES-GCM input exceeds the size limit");
  }
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr || EVP_EncryptInit_ex2(ctx.get(), internal::Aes256GcmCipher(), key_.data(),
                                            Bytes(nonce), nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "AES-GCM encrypt init failed");
  }
  std::string out(plaintext.size() + kAesGcmTagSize, '\0');
  unsigned char* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "AES-GCM AAD failed");
  }
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), dst, &len, Bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "AES-GCM encryption failed");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), dst + written, &len) != 1 ||
      static_cast<size_t>(written + len) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kAesGcmTagSize,
                          dst + plaintext.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "AES-GCM finish failed");
  }
  return out;
}

absl::StatusOr<std::string> Aes256Gcm::Open(absl::string_view nonce, absl::string_view sealed,
                                            absl::string_view aad) const {
  if (absl::Status s = CheckNonce(nonce); !s.ok()) return s;
  if (sealed.size() < kAesGcmTagSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-GCM input of ", sealed.size(), " bytes is shorter than the tag"));
  }
  if (sealed.size() > kAesGcmMaxPlaintextSize + kAesGcmTagSize ||
      aad.size() > kAesGcmMaxPlaintextSize) {
    return absl::ResourceExhaustedError("AES-GCM input exceeds the size limit");
  }
  const absl::string_view ciphertext = sealed.substr(0, sealed.size() - kAesGcmTagSize);
  std::string tag(sealed.substr(ciphertext.size()));
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr || EVP_DecryptInit_ex2(ctx.get(), internal::Aes256GcmCipher(), key_.data(),
                                            Bytes(nonce), nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "AES-GCM decrypt init failed");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "AES-GCM AAD failed");
  }
  std::string out(ciphertext.size(), '\0');
  unsigned char* dst = reinterpret_cast<unsigned char*>(out.data());
  int written = 0;
  if (!ciphertext.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), dst, &len, Bytes(ciphertext),
                          static_cast<int>(ciphertext.size())) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "AES-GCM decryption failed");
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kAesGcmTagSize, tag.data()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "AES-GCM set tag failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), dst + written, &len) != 1) {
    // Unverified plaintext never leaves this function.
    OPENSSL_cleanse(out.data(), out.size());
    internal::ClearOpenSslErrors();
    return absl::UnauthenticatedError("AES-GCM tag does not verify");
  }
  return out;
}

}  // namespace custody::crypto
