// One protocol session over one bidirectional gRPC stream of raw bytes: DI, TO0 and
// TO1 all run this loop. The service registers its method over grpc::ByteBuffer (as
// generated code registers it over messages) so that the loop parses each message
// itself, within a bound and refusing unknown fields: a message that does not parse
// ends the stream with INVALID_ARGUMENT `<protocol>.format`, and one over the
// bound with RESOURCE_EXHAUSTED `<protocol>.format`, instead of looking like the
// peer hanging up (all the generated synchronous API can tell).
//
// Each message read is a new step for the stream's deadline watch. The loop ends
// with OK when the session is done, with the session's refusal, or with
// FAILED_PRECONDITION `<protocol>.incomplete` when the peer ended the stream
// early. A stream the watch cancelled (or the peer cancelled) ends with
// DEADLINE_EXCEEDED `<protocol>.step_deadline` on the server's side; the peer,
// whose stream is already cancelled, sees CANCELLED.

#ifndef CUSTODY_SERVER_SESSION_STREAM_H_
#define CUSTODY_SERVER_SESSION_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/sync_stream.h"
#include "server/grpc_status.h"
#include "server/step_deadlines.h"

namespace custody::server {

using ByteStream = grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

struct StreamProtocol {
  absl::string_view name;  // "di", "to0", "to1": the prefix of the checks.
  absl::string_view what;  // "DI message": names the message in errors.
  absl::string_view peer;  // "device", "owner": who is at the other end.
  absl::string_view final_message;  // "DI.Done": what an early end came before.
  size_t max_request_bytes = 0;
};

// Parses `in` into `out` as StreamProtocol describes (the `<name>.format` errors).
absl::Status ParseStreamMessage(const grpc::ByteBuffer& in, const StreamProtocol& protocol,
                                google::protobuf::Message* out);

grpc::ByteBuffer SerializeToByteBuffer(const google::protobuf::Message& message);

// Runs the loop. `handle` takes each parsed request and gives the reply (or the
// refusal that ends the stream) and the FDO message number of the request, for
// ErrorDetail; `done` tells whether the session has finished.
template <typename Request, typename Response>
grpc::Status ServeSessionStream(
    grpc::ServerContext* context, ByteStream* stream, StepDeadlines::Watch& watch,
    const StreamProtocol& protocol,
    absl::FunctionRef<absl::StatusOr<Response>(const Request&, uint32_t* message_type)> handle,
    absl::FunctionRef<bool()> done);

// The gRPC status for an early end of the stream (cancelled or half-closed).
grpc::Status EndedEarly(grpc::ServerContextBase* context, const StreamProtocol& protocol,
                        uint32_t previous_message_type);

template <typename Request, typename Response>
grpc::Status ServeSessionStream(
    grpc::ServerContext* context, ByteStream* stream, StepDeadlines::Watch& watch,
    const StreamProtocol& protocol,
    absl::FunctionRef<absl::StatusOr<Response>(const Request&, uint32_t* message_type)> handle,
    absl::FunctionRef<bool()> done) {
  grpc::ByteBuffer in;
  uint32_t previous = 0;
  while (stream->Read(&in)) {
    watch.Step();
    Request request;
    absl::Status parsed = ParseStreamMessage(in, protocol, &request);
    if (!parsed.ok()) return ToGrpcStatus(parsed, previous);
    absl::StatusOr<Response> response = handle(request, &previous);
    if (!response.ok()) return ToGrpcStatus(response.status(), previous);
    if (!stream->Write(SerializeToByteBuffer(*response))) {
      return grpc::Status(grpc::StatusCode::CANCELLED, absl::StrCat("the ", protocol.peer, " went away"));
    }
    if (done()) return grpc::Status::OK;
  }
  return EndedEarly(context, protocol, previous);
}

}  // namespace custody::server

#endif  // CUSTODY_SERVER_SESSION_STREAM_H_
