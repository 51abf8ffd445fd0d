// What the protocol fuzz targets share: a fuzz input read as a sequence of
// messages (u16be length || bytes, repeated), each parsed as the services parse
// what they receive.

#ifndef CUSTODY_CORE_PROTOCOL_FUZZ_FUZZ_MESSAGES_H_
#define CUSTODY_CORE_PROTOCOL_FUZZ_FUZZ_MESSAGES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/base/proto_parse.h"

namespace custody::protocol {

// At most `max_messages`; a length running past the end stops the sequence.
inline std::vector<std::string> SplitMessages(absl::string_view input, size_t max_messages) {
  std::vector<std::string> out;
  while (input.size() >= 2 && out.size() < max_messages) {
    const size_t length = (static_cast<uint8_t>(input[0]) << 8) | static_cast<uint8_t>(input[1]);
    input.remove_prefix(2);
    if (length > input.size()) break;
    out.emplace_back(input.substr(0, length));
    input.remove_prefix(length);
  }
  return out;
}

// Strict parsing within `max_size` (core/base/proto_parse.h).
template <typename Message>
bool ParseFuzzed(const std::string& bytes, size_t max_size, Message* out) {
  return ParseStrict(bytes, max_size, "fuzzed message", out).ok();
}

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_FUZZ_FUZZ_MESSAGES_H_
