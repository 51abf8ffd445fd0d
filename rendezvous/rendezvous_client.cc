#include "rendezvous/rendezvous_client.h"

#include <chrono>
#include <utility>

#include "core/base/status.h"
#include "custody/v1/rendezvous.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/client_stream.h"

namespace custody::rendezvous {

absl::StatusOr<v1::To0AcceptOwner> RegisterOwner(const std::shared_ptr<grpc::Channel>& channel,
                                                 protocol::To0Registration registration,
                                                 const crypto::Signer& owner_key,
                                                 absl::Duration deadline) {
  CUSTODY_ASSIGN_OR_RETURN(protocol::To0ClientSession session,
                           protocol::To0ClientSession::New(std::move(registration), owner_key));
  auto stub = v1::Rendezvous::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  auto stream = stub->RegisterOwner(&context);
  CUSTODY_RETURN_IF_ERROR(server::RunClientSession(session, *stream, context,
                                                   "refused the rendezvous service's reply",
                                                   "the rendezvous service refused"));
  return session.accepted();
}

absl::StatusOr<protocol::OwnerLocation> FindOwner(const std::shared_ptr<grpc::Channel>& channel,
                                                  const protocol::To1DeviceIdentity& identity,
                                                  absl::Duration deadline) {
  protocol::To1ClientSession session(identity);
  auto stub = v1::Rendezvous::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  auto stream = stub->FindOwner(&context);
  CUSTODY_RETURN_IF_ERROR(server::RunClientSession(session, *stream, context,
                                                   "refused the rendezvous service's answer",
                                                   "the rendezvous service refused"));
  return session.location();
}

}  // namespace custody::rendezvous
