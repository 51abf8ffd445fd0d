// Strict standard base64 (RFC 4648 section 4, with padding), for text forms such
// as the PEM-armoured ownership voucher.

#ifndef CUSTODY_CORE_BASE_BASE64_H_
#define CUSTODY_CORE_BASE_BASE64_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace custody {

// Base64 of `bytes`, broken into lines of `line_length` characters (each ending in
// '\n') when line_length > 0; one line without a newline otherwise.
std::string Base64Encode(absl::string_view bytes, size_t line_length = 0);

// Decodes base64 in which only '\n' and '\r' may separate the characters (PEM
// bodies). INVALID_ARGUMENT, naming the position, for any other character, a
// length that is not a multiple of 4, misplaced padding or non-zero padding bits;
// RESOURCE_EXHAUSTED when the decoded size would exceed `max_decoded_size`.
absl::StatusOr<std::string> Base64Decode(absl::string_view text, size_t max_decoded_size);

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_BASE64_H_
