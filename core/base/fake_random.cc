#include "core/base/fake_random.h"

namespace custody {

DeterministicRandom::DeterministicRandom(uint64_t seed) : state_(seed) {}

absl::Status DeterministicRandom::Fill(absl::Span<uint8_t> out) {
  absl::MutexLock lock(&mu_);
  if (fail_next_) {
    fail_next_ = false;
    return absl::InternalError("DeterministicRandom: injected failure");
  }
  size_t i = 0;
  while (i < out.size()) {
    // splitmix64 (Steele, Lea, Flood 2014).
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int b = 0; b < 8 && i < out.size(); ++b, ++i) {
      out[i] = static_cast<uint8_t>(z >> (8 * b));
    }
  }
  return absl::OkStatus();
}

void DeterministicRandom::FailNext() {
  absl::MutexLock lock(&mu_);
  fail_next_ = true;
}

}  // namespace custody
