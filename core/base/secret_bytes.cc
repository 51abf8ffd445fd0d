#include "core/base/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace custody {

SecretBytes::SecretBytes(size_t size)
    : data_(size == 0 ? nullptr : new uint8_t[size]()), size_(size) {}

SecretBytes SecretBytes::CopyFrom(absl::string_view bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_.get(), bytes.data(), bytes.size());
  return out;
}

SecretBytes SecretBytes::CopyFrom(absl::Span<const uint8_t> bytes) {
  return CopyFrom(absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Clear(); }

SecretBytes SecretBytes::Clone() const { return CopyFrom(Reveal()); }

void SecretBytes::Clear() {
  if (data_ != nullptr) OPENSSL_cleanse(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

std::string SecretBytes::DebugString() const {
  return absl::StrCat("SecretBytes(", size_, " bytes, redacted)");
}

std::ostream& operator<<(std::ostream& out, const SecretBytes& secret) {
  return out << secret.DebugString();
}

void PrintTo(const SecretBytes& secret, std::ostream* out) { *out << secret.DebugString(); }

}  // namespace custody
