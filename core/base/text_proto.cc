#include "core/base/text_proto.h"

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace custody {
namespace {

// Keeps the first error, with its place.
class FirstError final : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstError(absl::string_view name) : name_(name) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (message_.empty())
      message_ = absl::StrCat(name_, ":", line + 1, ":", column + 1, ": ", message);
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  const std::string& message() const { return message_; }

 private:
  std::string name_;
  std::string message_;
};

}  // namespace

absl::Status ParseTextProto(absl::string_view text, absl::string_view name,
                            google::protobuf::Message* out) {
  FirstError errors(name);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  // Unknown fields and extensions are errors (the parser's default); say so here
  // so that nobody relaxes it by accident.
  parser.AllowUnknownField(false);
  parser.AllowUnknownExtension(false);
  if (!parser.ParseFromString(std::string(text), out)) {
    return absl::InvalidArgumentError(errors.message().empty()
                                          ? absl::StrCat(name, ": not a valid configuration")
                                          : errors.message());
  }
  return absl::OkStatus();
}

absl::Status ReadTextProtoFile(const std::string& path, google::protobuf::Message* out) {
  CUSTODY_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxConfigFileSize));
  return ParseTextProto(text, path, out);
}

}  // namespace custody
