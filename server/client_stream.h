// Drives a transport-free client session (DI, TO0, TO1) over one gRPC
// bidirectional stream: the session's first message, then one reply and one
// request at a time until the session is done or a side refuses.
//
// A session that cannot start returns its own error, and the stream is cancelled
// before anything is sent. A refusal by the session itself (the peer's reply
// failed a check here) cancels the stream and comes back annotated with
// `local_context`; a refusal by the peer comes back as its status
// (server::FromGrpcStatus, check name kept), annotated with `peer_context`. A stream that ends
// before the session is done is UNAVAILABLE. The Session type provides Start(), Handle(response)
// and done().

#ifndef CUSTODY_SERVER_CLIENT_STREAM_H_
#define CUSTODY_SERVER_CLIENT_STREAM_H_

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/status.h"
#include "grpcpp/grpcpp.h"
#include "server/grpc_status.h"

namespace custody::server {

template <typename Session, typename Request, typename Response>
absl::Status RunClientSession(Session& session, grpc::ClientReaderWriter<Request, Response>& stream,
                              grpc::ClientContext& context, absl::string_view local_context,
                              absl::string_view peer_context) {
  absl::StatusOr<Request> first = session.Start();
  if (!first.ok()) {
    // The client's own request failed its checks: nothing was sent.
    context.TryCancel();
    (void)stream.Finish();
    return first.status();
  }
  std::optional<Request> next = *std::move(first);
  absl::Status refused;
  while (next.has_value()) {
    if (!stream.Write(*next)) break;
    Response response;
    if (!stream.Read(&response)) break;
    absl::StatusOr<std::optional<Request>> reply = session.Handle(response);
    if (!reply.ok()) {
      refused = reply.status();
      context.TryCancel();
      break;
    }
    next = *std::move(reply);
  }
  stream.WritesDone();
  const grpc::Status finished = stream.Finish();
  if (!refused.ok()) return Annotate(refused, local_context);
  if (session.done()) return absl::OkStatus();
  if (!finished.ok()) return Annotate(FromGrpcStatus(finished), peer_context);
  return absl::UnavailableError(
      absl::StrCat(peer_context, ": the stream ended before the exchange was complete"));
}

}  // namespace custody::server

#endif  // CUSTODY_SERVER_CLIENT_STREAM_H_
