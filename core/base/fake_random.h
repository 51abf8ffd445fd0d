// DeterministicRandom: a SecureRandom for tests that yields the same stream for
// the same seed (splitmix64), so nonces and GUIDs in tests are reproducible.
//
// Never use outside tests: the stream is predictable by design. `FailNext()` makes
// the next Fill fail, to test callers' handling of an unusable generator.
// Thread-safe. Not copyable.

#ifndef CUSTODY_CORE_BASE_FAKE_RANDOM_H_
#define CUSTODY_CORE_BASE_FAKE_RANDOM_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/base/random.h"

namespace custody {

class DeterministicRandom final : public SecureRandom {
 public:
  explicit DeterministicRandom(uint64_t seed);
  DeterministicRandom(const DeterministicRandom&) = delete;
  DeterministicRandom& operator=(const DeterministicRandom&) = delete;

  absl::Status Fill(absl::Span<uint8_t> out) override;

  // The next call to Fill returns INTERNAL and fills nothing.
  void FailNext();

 private:
  absl::Mutex mu_;
  uint64_t state_ ABSL_GUARDED_BY(mu_);
  bool fail_next_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_FAKE_RANDOM_H_
