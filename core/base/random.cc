#include "core/base/random.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/base/status.h"

namespace custody {

absl::StatusOr<std::string> SecureRandom::Bytes(size_t n) {
  std::string out(n, '\0');
  CUSTODY_RETURN_IF_ERROR(Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()), n)));
  return out;
}

absl::StatusOr<uint64_t> SecureRandom::Uniform(uint64_t bound) {
  if (bound == 0) return absl::InvalidArgumentError("random bound must be positive");
  // Rejection sampling: draw until the value falls below the largest multiple of
  // `bound`, so every residue is equally likely.
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  while (true) {
    uint8_t buf[8];
    CUSTODY_RETURN_IF_ERROR(Fill(absl::MakeSpan(buf)));
    uint64_t value = 0;
    for (uint8_t b : buf) value = (value << 8) | b;
    if (value < limit) return value % bound;
  }
}

namespace {

class OpenSslRandom final : public SecureRandom {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      // RAND_bytes takes an int length.
      const size_t chunk = std::min<size_t>(out.size() - done, 1 << 20);
      if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
        const unsigned long err = ERR_get_error();
        ERR_clear_error();
        return absl::InternalError(
            absl::StrCat("RAND_bytes failed: ", ERR_reason_error_string(err) != nullptr
                                                    ? ERR_reason_error_string(err)
                                                    : "unknown error"));
      }
      done += chunk;
    }
    return absl::OkStatus();
  }
};

}  // namespace

SecureRandom& SystemRandom() {
  static SecureRandom* const random = new OpenSslRandom();
  return *random;
}

}  // namespace custody
