// AES-256-GCM authenticated encryption (the TO2 session cipher).
//
// Only 256-bit keys, 96-bit nonces and 128-bit tags: the one safe parameter set,
// so no caller can pick a weaker one. Nonces must never repeat under one key; the
// session layer uses a per-direction counter. Output of Seal is ciphertext||tag.
//
// Move-only (the key is a SecretBytes); thread-safe for concurrent const use.

#ifndef CUSTODY_CORE_CRYPTO_AES_GCM_H_
#define CUSTODY_CORE_CRYPTO_AES_GCM_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/secret_bytes.h"

namespace custody::crypto {

inline constexpr size_t kAesGcmKeySize = 32;
inline constexpr size_t kAesGcmNonceSize = 12;
inline constexpr size_t kAesGcmTagSize = 16;
// Largest plaintext accepted in one message (and so ciphertext, plus the tag).
inline constexpr size_t kAesGcmMaxPlaintextSize = 64 * 1024 * 1024;

class Aes256Gcm {
 public:
  // INVALID_ARGUMENT unless `key` is exactly 32 bytes.
  static absl::StatusOr<Aes256Gcm> New(SecretBytes key);

  Aes256Gcm(Aes256Gcm&&) noexcept = default;
  Aes256Gcm& operator=(Aes256Gcm&&) noexcept = default;

  // ciphertext||tag. INVALID_ARGUMENT for a nonce that is not 12 bytes;
  // RESOURCE_EXHAUSTED for a plaintext over kAesGcmMaxPlaintextSize.
  absl::StatusOr<std::string> Seal(absl::string_view nonce, absl::string_view plaintext,
                                   absl::string_view aad) const;

  // The plaintext, released only after the tag verifies. INVALID_ARGUMENT for a
  // nonce that is not 12 bytes or input shorter than a tag; UNAUTHENTICATED when
  // the tag (ciphertext, nonce or AAD) does not verify.
  absl::StatusOr<std::string> Open(absl::string_view nonce, absl::string_view sealed,
                                   absl::string_view aad) const;

 private:
  explicit Aes256Gcm(SecretBytes key) : key_(std::move(key)) {}

  SecretBytes key_;
};

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_AES_GCM_H_
