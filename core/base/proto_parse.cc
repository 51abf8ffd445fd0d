#include "core/base/proto_parse.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"

namespace custody {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Depth-first search for unknown fields; `path` names where we are.
bool FindUnknown(const Message& message, const std::string& path, std::string* where) {
  const Reflection* reflection = message.GetReflection();
  if (reflection->GetUnknownFields(message).field_count() > 0) {
    *where = path;
    return true;
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string field_path = absl::StrCat(path, ".", field->name());
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        if (FindUnknown(reflection->GetRepeatedMessage(message, field, i),
                        absl::StrCat(field_path, "[", i, "]"), where)) {
          return true;
        }
      }
    } else if (FindUnknown(reflection->GetMessage(message, field), field_path, where)) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::Status RejectUnknownFields(const Message& message, absl::string_view what) {
  std::string where;
  if (FindUnknown(message, std::string(what), &where)) {
    return absl::InvalidArgumentError(absl::StrCat(where, " has unknown fields"));
  }
  return absl::OkStatus();
}

absl::Status ParseStrict(absl::string_view bytes, size_t max_size, absl::string_view what,
                         Message* out) {
  if (bytes.size() > max_size) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, " of ", bytes.size(), " bytes exceeds the limit of ", max_size));
  }
  out->Clear();
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a valid ", out->GetDescriptor()->full_name()));
  }
  return RejectUnknownFields(*out, what);
}

}  // namespace custody
