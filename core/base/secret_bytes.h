// SecretBytes: a fixed-size buffer for key material, HMAC secrets and session keys.
//
// The buffer is wiped (OPENSSL_cleanse) when the object is destroyed or assigned
// over, it never grows (so no stale copy is left behind by a reallocation), and it
// cannot be printed: streaming it, or printing it from a gtest assertion, yields
// "SecretBytes(<n> bytes, redacted)". There is no operator==; compare secrets with
// custody::crypto::ConstantTimeEquals.
//
// Move-only; `Clone()` makes an explicit copy. Not thread-safe for concurrent
// mutation; concurrent reads are fine.

#ifndef CUSTODY_CORE_BASE_SECRET_BYTES_H_
#define CUSTODY_CORE_BASE_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace custody {

class SecretBytes {
 public:
  // An empty secret.
  SecretBytes() = default;
  // `size` zero bytes, to be filled through mutable_data().
  explicit SecretBytes(size_t size);
  // A copy of `bytes`. The caller remains responsible for wiping its own copy.
  static SecretBytes CopyFrom(absl::string_view bytes);
  static SecretBytes CopyFrom(absl::Span<const uint8_t> bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  SecretBytes Clone() const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const uint8_t* data() const { return data_.get(); }
  uint8_t* mutable_data() { return data_.get(); }
  absl::Span<const uint8_t> span() const { return {data_.get(), size_}; }
  // A view of the secret bytes. Named so that every use is easy to audit.
  absl::string_view Reveal() const {
    return absl::string_view(reinterpret_cast<const char*>(data_.get()), size_);
  }

  // Wipes and releases the buffer; the secret becomes empty.
  void Clear();

  // "SecretBytes(<n> bytes, redacted)".
  std::string DebugString() const;

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

std::ostream& operator<<(std::ostream& out, const SecretBytes& secret);
// Used by GoogleTest to print values in failed assertions.
void PrintTo(const SecretBytes& secret, std::ostream* out);

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_SECRET_BYTES_H_
