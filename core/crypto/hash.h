// SHA-256 and SHA-384, one-shot and incremental (for transcript hashes).
// Follows FDO 1.1 Hash (COSE SHA256 = -16, SHA384 = -43).

#ifndef CUSTODY_CORE_CRYPTO_HASH_H_
#define CUSTODY_CORE_CRYPTO_HASH_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace custody::crypto {

enum class HashAlgorithm { kSha256, kSha384 };

// Digest length in bytes: 32 or 48.
size_t DigestSize(HashAlgorithm algorithm);
// "SHA-256" or "SHA-384".
absl::string_view HashName(HashAlgorithm algorithm);

// The digest of `data`.
std::string ComputeHash(HashAlgorithm algorithm, absl::string_view data);
std::string Sha256(absl::string_view data);
std::string Sha384(absl::string_view data);

// A running hash. Move-only; not thread-safe. Finish() may be called once; further
// Update or Finish calls fail with FAILED_PRECONDITION.
class IncrementalHash {
 public:
  static std::unique_ptr<IncrementalHash> New(HashAlgorithm algorithm);
  ~IncrementalHash();
  IncrementalHash(const IncrementalHash&) = delete;
  IncrementalHash& operator=(const IncrementalHash&) = delete;

  HashAlgorithm algorithm() const { return algorithm_; }
  absl::Status Update(absl::string_view data);
  // The digest of everything so far, without finishing (for transcript hashes
  // taken at several points of one exchange).
  absl::StatusOr<std::string> Peek() const;
  absl::StatusOr<std::string> Finish();

 private:
  struct State;
  IncrementalHash(HashAlgorithm algorithm, std::unique_ptr<State> state);

  HashAlgorithm algorithm_;
  std::unique_ptr<State> state_;
  bool finished_ = false;
};

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_HASH_H_
