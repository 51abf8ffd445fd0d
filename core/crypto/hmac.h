// HMAC-SHA-256 and HMAC-SHA-384 (the voucher header HMAC, FDO HMac).

#ifndef CUSTODY_CORE_CRYPTO_HMAC_H_
#define CUSTODY_CORE_CRYPTO_HMAC_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/hash.h"
#include "core/crypto/signer.h"

namespace custody::crypto {

// The full-length tag (32 or 48 bytes). INVALID_ARGUMENT for an empty key.
absl::StatusOr<std::string> HmacCompute(HashAlgorithm algorithm, const SecretBytes& key,
                                        absl::string_view data);

// OK when `tag` is the full-length HMAC of `data` under `key`, compared in
// constant time. INVALID_ARGUMENT for a tag of the wrong length (truncated tags
// are never accepted); UNAUTHENTICATED when it does not match.
absl::Status HmacVerify(HashAlgorithm algorithm, const SecretBytes& key, absl::string_view data,
                        absl::string_view tag);

// An HMAC key held in memory (the device secret in a file, a fresh secret before it
// is stored): the software implementation of HmacKey.
class SoftwareHmacKey final : public HmacKey {
 public:
  SoftwareHmacKey() = default;  // Empty: Compute fails until a secret is moved in.
  // `uri` says where the secret came from, for messages ("software" by default).
  explicit SoftwareHmacKey(SecretBytes secret, std::string uri = "software")
      : secret_(std::move(secret)), uri_(std::move(uri)) {}

  absl::StatusOr<std::string> Compute(HashAlgorithm algorithm,
                                      absl::string_view data) const override {
    return HmacCompute(algorithm, secret_, data);
  }
  std::string uri() const override { return uri_; }

  const SecretBytes& secret() const { return secret_; }

 private:
  SecretBytes secret_;
  std::string uri_ = "software";
};

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_HMAC_H_
