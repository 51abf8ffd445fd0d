#include "server/grpc_status.h"

#include <string>

#include "absl/strings/match.h"
#include "core/base/status.h"

namespace custody::server {
namespace {

// FDO error codes (ErrorMessage, EMErrorCode).
uint32_t FdoErrorCode(const absl::Status& status, const std::string& check) {
  if (absl::StartsWith(check, "voucher.")) return 2;  // INVALID_OWNERSHIP_VOUCHER
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return 6;  // RESOURCE_NOT_FOUND
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
      return 100;  // MESSAGE_BODY_ERROR
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kAlreadyExists:
      return 101;  // INVALID_MESSAGE_ERROR
    default:
      return 500;  // INTERNAL_SERVER_ERROR
  }
}

// The check of a refusal by the admin authorizer (server/admin_auth.h), which
// carries no details: UNAUTHENTICATED or PERMISSION_DENIED with a message
// "admin.<name>: ...", <name> in [a-z_]. "" for anything else.
std::string AdminCheckOf(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAUTHENTICATED &&
      status.error_code() != grpc::StatusCode::PERMISSION_DENIED) {
    return "";
  }
  const std::string& message = status.error_message();
  constexpr absl::string_view kPrefix = "admin.";
  if (!absl::StartsWith(message, kPrefix)) return "";
  const size_t end = message.find(": ");
  if (end == std::string::npos || end == kPrefix.size()) return "";
  for (size_t i = kPrefix.size(); i < end; ++i) {
    if (!(message[i] >= 'a' && message[i] <= 'z') && message[i] != '_') return "";
  }
  return message.substr(0, end);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status, uint32_t previous_message_type) {
  if (status.ok()) return grpc::Status::OK;
  v1::ErrorDetail detail;
  detail.set_check(FailedCheck(status));
  detail.set_fdo_error_code(FdoErrorCode(status, detail.check()));
  detail.set_previous_message_type(previous_message_type);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      detail.SerializeAsString());
}

v1::ErrorDetail ErrorDetailOf(const grpc::Status& status) {
  v1::ErrorDetail detail;
  if (!status.error_details().empty()) {
    if (!detail.ParseFromString(status.error_details())) detail.Clear();
    return detail;
  }
  // The admin port's authorizer can only set a code and a message: read its check
  // back from the message, and from nothing else.
  const std::string check = AdminCheckOf(status);
  if (!check.empty()) {
    detail.set_check(check);
    detail.set_fdo_error_code(
        FdoErrorCode(absl::Status(static_cast<absl::StatusCode>(status.error_code()), ""), check));
  }
  return detail;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return AttachCheck(
      absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message()),
      ErrorDetailOf(status).check());
}

}  // namespace custody::server
