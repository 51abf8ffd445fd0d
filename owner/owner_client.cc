#include "owner/owner_client.h"

#include <chrono>

#include "custody/v1/owner.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/client_stream.h"

namespace custody::owner {

absl::Status Onboard(const std::shared_ptr<grpc::Channel>& channel,
                     protocol::To2ClientSession& session, absl::Duration deadline) {
  auto stub = v1::Owner::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  auto stream = stub->Onboard(&context);
  return server::RunClientSession(session, *stream, context, "refused the owner's answer",
                                  "the owner refused");
}

}  // namespace custody::owner
