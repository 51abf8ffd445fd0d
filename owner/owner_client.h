// The device's side of TO2 over gRPC: runs To2ClientSession over one
// Owner.Onboard stream with a deadline for the whole exchange. Errors keep the
// check name of whichever side refused (FailedCheck).

#ifndef CUSTODY_OWNER_OWNER_CLIENT_H_
#define CUSTODY_OWNER_OWNER_CLIENT_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/protocol/to2_client.h"
#include "grpcpp/channel.h"

namespace custody::owner {

inline constexpr absl::Duration kDefaultOnboardDeadline = absl::Seconds(60);

// OK only once the session is done (Done2 checked); the result is then in
// session.result().
absl::Status Onboard(const std::shared_ptr<grpc::Channel>& channel,
                     protocol::To2ClientSession& session,
                     absl::Duration deadline = kDefaultOnboardDeadline);

}  // namespace custody::owner

#endif  // CUSTODY_OWNER_OWNER_CLIENT_H_
