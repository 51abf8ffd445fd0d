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
  if (!detail.ParseFromString(status.error_details())) detail.Clear();
  return detail;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return AttachCheck(
      absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message()),
      ErrorDetailOf(status).check());
}

}  // namespace custody::server
