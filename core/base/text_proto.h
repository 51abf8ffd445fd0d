// Reading configuration files in protobuf text format, strictly: unknown fields,
// bad values and syntax errors are refused with "<file>:<line>:<column>: <what>".

#ifndef CUSTODY_CORE_BASE_TEXT_PROTO_H_
#define CUSTODY_CORE_BASE_TEXT_PROTO_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace custody {

inline constexpr size_t kMaxConfigFileSize = 1024 * 1024;

// Parses the file at `path` into `out`. NOT_FOUND, INVALID_ARGUMENT (naming the
// place), RESOURCE_EXHAUSTED over kMaxConfigFileSize.
absl::Status ReadTextProtoFile(const std::string& path, google::protobuf::Message* out);

// Parses `text`; `name` stands for the file in messages.
absl::Status ParseTextProto(absl::string_view text, absl::string_view name,
                            google::protobuf::Message* out);

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_TEXT_PROTO_H_
