#include "core/base/base64.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace custody {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string Base64Encode(absl::string_view bytes, size_t line_length) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4 + (line_length > 0 ? bytes.size() / line_length + 2 : 0));
  size_t column = 0;
  auto put = [&](char c) {
    out.push_back(c);
    if (line_length > 0 && ++column == line_length) {
      out.push_back('\n');
      column = 0;
    }
  };
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t block = static_cast<uint8_t>(bytes[i]) << 16;
    if (n > 1) block |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (n > 2) block |= static_cast<uint8_t>(bytes[i + 2]);
    put(kAlphabet[(block >> 18) & 63]);
    put(kAlphabet[(block >> 12) & 63]);
    put(n > 1 ? kAlphabet[(block >> 6) & 63] : '=');
    put(n > 2 ? kAlphabet[block & 63] : '=');
  }
  if (line_length > 0 && column != 0) out.push_back('\n');
  return out;
}

absl::StatusOr<std::string> Base64Decode(absl::string_view text, size_t max_decoded_size) {
  // First pass: collect the significant characters, rejecting anything else.
  std::string chars;
  chars.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') continue;
    if (Value(c) < 0 && c != '=') {
      return absl::InvalidArgumentError(absl::StrCat("invalid base64 character at position ", i));
    }
    chars.push_back(c);
  }
  if (chars.size() % 4 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("base64 length ", chars.size(), " is not a multiple of 4"));
  }
  size_t padding = 0;
  if (!chars.empty() && chars.back() == '=') ++padding;
  if (chars.size() >= 2 && chars[chars.size() - 2] == '=') ++padding;
  const size_t decoded_size = chars.size() / 4 * 3 - padding;
  if (decoded_size > max_decoded_size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "base64 decodes to ", decoded_size, " bytes, over the limit of ", max_decoded_size));
  }
  std::string out;
  out.reserve(decoded_size);
  for (size_t i = 0; i < chars.size(); i += 4) {
    const bool last = i + 4 == chars.size();
    uint32_t block = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = chars[i + j];
      if (c == '=') {
        // Padding only at the end, and only in the last two places.
        if (!last || j < 4 - padding) {
          return absl::InvalidArgumentError("misplaced base64 padding");
        }
        block <<= 6;
        continue;
      }
      block = (block << 6) | static_cast<uint32_t>(Value(c));
    }
    const size_t n = last ? 3 - padding : 3;
    // The bits that padding hides must be zero, so every byte string has exactly
    // one encoding.
    if ((n == 1 && (block & 0xffff) != 0) || (n == 2 && (block & 0xff) != 0)) {
      return absl::InvalidArgumentError("non-canonical base64 padding bits");
    }
    out.push_back(static_cast<char>(block >> 16));
    if (n > 1) out.push_back(static_cast<char>(block >> 8));
    if (n > 2) out.push_back(static_cast<char>(block));
  }
  return out;
}

}  // namespace custody
