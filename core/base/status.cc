#include "core/base/status.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"

namespace custody {

namespace {

constexpr absl::string_view kCheckPayloadUrl = "type.custody.dev/custody.check";

}  // namespace

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

absl::Status CheckFailed(absl::StatusCode code, absl::string_view check, absl::string_view detail) {
  absl::Status status(code, absl::StrCat(check, ": ", detail));
  status.SetPayload(kCheckPayloadUrl, absl::Cord(check));
  return status;
}

absl::Status AttachCheck(const absl::Status& status, absl::string_view check) {
  if (status.ok() || check.empty()) return status;
  absl::Status out = status;
  out.SetPayload(kCheckPayloadUrl, absl::Cord(check));
  return out;
}

std::string FailedCheck(const absl::Status& status) {
  absl::optional<absl::Cord> check = status.GetPayload(kCheckPayloadUrl);
  return check.has_value() ? std::string(*check) : std::string();
}

}  // namespace custody
