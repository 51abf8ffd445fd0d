// SecureRandom: the only source of randomness for anything security-relevant
// (nonces, GUIDs, certificate serials, backoff jitter).
//
// Library code is handed a SecureRandom and never calls RAND_bytes or absl::BitGen
// itself. OpenSSL's own key generation draws from OpenSSL's DRBG, which is the same
// generator SystemRandom() uses.
//
// Implementations are thread-safe.

#ifndef CUSTODY_CORE_BASE_RANDOM_H_
#define CUSTODY_CORE_BASE_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace custody {

class SecureRandom {
 public:
  virtual ~SecureRandom() = default;

  // Fills `out` completely, or fails with INTERNAL (the generator is unusable;
  // callers must not fall back to anything weaker).
  virtual absl::Status Fill(absl::Span<uint8_t> out) = 0;

  // `n` random bytes.
  absl::StatusOr<std::string> Bytes(size_t n);
  // A uniformly distributed integer in [0, bound); bound must be positive.
  absl::StatusOr<uint64_t> Uniform(uint64_t bound);
};

// OpenSSL's default DRBG (RAND_bytes). Never destroyed.
SecureRandom& SystemRandom();

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_RANDOM_H_
