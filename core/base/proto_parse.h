// Bounded, strict parsing of protobuf messages received from outside.
//
// Every protobuf message Custody reads from a peer or a file goes through
// ParseStrict: the size is bounded before parsing, and unknown fields are refused
// at every level, so nothing unvalidated rides along inside signed or stored bytes.

#ifndef CUSTODY_CORE_BASE_PROTO_PARSE_H_
#define CUSTODY_CORE_BASE_PROTO_PARSE_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace custody {

// Parses `bytes` into `out` (cleared first). RESOURCE_EXHAUSTED when `bytes` is
// longer than `max_size`; INVALID_ARGUMENT when the bytes are not a `what`, or the
// message or any message inside it has unknown fields (naming the field path).
// `out` is unspecified on error.
absl::Status ParseStrict(absl::string_view bytes, size_t max_size, absl::string_view what,
                         google::protobuf::Message* out);

// INVALID_ARGUMENT naming the path of the first message inside `message` (itself
// included) that carries unknown fields.
absl::Status RejectUnknownFields(const google::protobuf::Message& message, absl::string_view what);

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_PROTO_PARSE_H_
