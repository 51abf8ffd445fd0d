// The one place where an absl::Status becomes a gRPC status.
//
// The code maps one to one; the message is the status message (which names the
// failed check and never holds key material); the binary details carry a
// custody.v1.ErrorDetail (the check name from FailedCheck, and the FDO error
// code that corresponds). Debian 12 ships no google.rpc.Status, so the details are
// the ErrorDetail itself (docs/protocol.md, "Errors").

#ifndef CUSTODY_SERVER_GRPC_STATUS_H_
#define CUSTODY_SERVER_GRPC_STATUS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "custody/v1/common.pb.h"
#include "grpcpp/support/status.h"

namespace custody::server {

// `previous_message_type` is the FDO number of the last message received (0 if
// none).
grpc::Status ToGrpcStatus(const absl::Status& status, uint32_t previous_message_type = 0);

// A status received from a Custody service as an absl::Status: the same code and
// message, with the check name of its ErrorDetail attached (FailedCheck).
absl::Status FromGrpcStatus(const grpc::Status& status);

// The ErrorDetail of a status received from a Custody service (empty if none). A
// refusal by the admin port's authorizer carries none; its check name and FDO
// error code are read from its message ("admin.role: ...").
v1::ErrorDetail ErrorDetailOf(const grpc::Status& status);

}  // namespace custody::server

#endif  // CUSTODY_SERVER_GRPC_STATUS_H_
