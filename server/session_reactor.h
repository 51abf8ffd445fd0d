// The session-stream loop of session_stream.h on gRPC's callback API: the same
// bounded, strict parsing, step deadlines and statuses, without a thread per
// stream. Each step runs on one of gRPC's callback threads, so the session must
// not block for long: it suits sessions that read the store and compute (TO1),
// not ones that wait for a disk sync on every stream (TO0, DI).
//
// A method is served with it like this, from a grpc::Service subclass:
//
//   AddMethod(new grpc::internal::RpcServiceMethod(
//       name, grpc::internal::RpcMethod::BIDI_STREAMING, nullptr));
//   MarkMethodRawCallback(index, NewSessionHandler([this](grpc::CallbackServerContext* c) {
//     return new SessionReactor<Session, Request, Response>(c, ...);
//   }));
//
// The reactor deletes itself when gRPC is done with the stream.

#ifndef CUSTODY_SERVER_SESSION_REACTOR_H_
#define CUSTODY_SERVER_SESSION_REACTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/grpc_status.h"
#include "server/session_stream.h"
#include "server/step_deadlines.h"

namespace custody::server {

using ByteReactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;

// The handler to register with MarkMethodRawCallback.
inline grpc::internal::MethodHandler* NewSessionHandler(
    std::function<ByteReactor*(grpc::CallbackServerContext*)> make_reactor) {
  return new grpc::internal::CallbackBidiHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
      std::move(make_reactor));
}

// Session: Handle(const Request&) -> absl::StatusOr<Response>, and done().
// `message_type` gives the FDO number of a request, for ErrorDetail.
template <typename Session, typename Request, typename Response>
class SessionReactor final : public ByteReactor {
 public:
  // Finishes at once with `admitted` when it is a refusal (a rate limit);
  // otherwise watches the stream's steps and starts reading.
  SessionReactor(grpc::CallbackServerContext* context, const StreamProtocol& protocol,
                 absl::Status admitted, StepDeadlines& deadlines, absl::Duration step,
                 std::unique_ptr<Session> session, uint32_t (*message_type)(const Request&))
      : context_(context),
        protocol_(protocol),
        session_(std::move(session)),
        message_type_(message_type) {
    if (!admitted.ok()) {
      Finish(ToGrpcStatus(admitted));
      return;
    }
    watch_.emplace(deadlines.Start(context, step));
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(EndedEarly(context_, protocol_, previous_));
      return;
    }
    watch_->Step();
    Request request;
    absl::Status parsed = ParseStreamMessage(in_, protocol_, &request);
    in_.Clear();
    if (!parsed.ok()) {
      Finish(ToGrpcStatus(parsed, previous_));
      return;
    }
    previous_ = message_type_(request);
    absl::StatusOr<Response> response = session_->Handle(request);
    if (!response.ok()) {
      Finish(ToGrpcStatus(response.status(), previous_));
      return;
    }
    out_ = SerializeToByteBuffer(*response);
    StartWrite(&out_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                          absl::StrCat("the ", protocol_.peer, " went away")));
    } else if (session_->done()) {
      Finish(grpc::Status::OK);
    } else {
      StartRead(&in_);
    }
  }

  void OnDone() override { delete this; }

 private:
  grpc::CallbackServerContext* context_;
  const StreamProtocol& protocol_;
  std::unique_ptr<Session> session_;
  uint32_t (*message_type_)(const Request&);
  std::optional<StepDeadlines::Watch> watch_;
  uint32_t previous_ = 0;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_SESSION_REACTOR_H_
