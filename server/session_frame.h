// The serving frame of every protocol stream (DI, TO0, TO1, TO2, and the fleet
// service to come): one bidirectional gRPC stream of raw bytes per session, on
// gRPC's public callback API (the generated WithRawCallbackMethod_* wrappers),
// without a thread per stream. docs/server.md describes it.
//
// For each stream the frame
//   - admits it or ends it at once, before any message is read: the per-peer
//     rate limit (`rate_limit`), then the caps on sessions in flight for the
//     service and per peer (`<protocol>.sessions`, `<protocol>.peer_sessions`);
//   - parses each message itself, within `max_request_bytes` and refusing
//     unknown fields (`<protocol>.format`: INVALID_ARGUMENT, or
//     RESOURCE_EXHAUSTED over the bound);
//   - names each request by its protocol::MessageType (the session's
//     RequestType), for error details, logs and metrics;
//   - runs the session's step inline, or on the worker pool when the step
//     touches the store (protocol::StepTouchesStore), so that no gRPC callback
//     thread waits for a disk sync;
//   - spends a token of the shared `budget` before each step of type
//     `budget_step`, the work done before a peer has proved itself
//     (`<protocol>.busy` when it is spent);
//   - enforces the step deadline while it waits for the peer, to send its next
//     message or to take the service's answer, and ends a stalled stream with
//     DEADLINE_EXCEEDED `<protocol>.step_deadline`, which the peer receives;
//   - ends with OK once the session is done, with the session's refusal, or
//     with FAILED_PRECONDITION `<protocol>.incomplete` when the peer half-closes
//     early;
//   - writes one log line per session that got past admission.
//
// A session type provides
//   absl::StatusOr<Response> Handle(const Request&);
//   bool done() const;
//   protocol::MessageType RequestType(const Request&) const;

#ifndef CUSTODY_SERVER_SESSION_FRAME_H_
#define CUSTODY_SERVER_SESSION_FRAME_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/protocol/message_type.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/admission.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/rate_limiter.h"
#include "server/step_timer.h"
#include "server/worker_pool.h"

namespace custody::server {

using ByteReactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;

struct StreamProtocol {
  absl::string_view name;           // "di", "to0", "to1", "to2": the checks' prefix.
  absl::string_view what;           // "DI message": names the message in errors.
  absl::string_view peer;           // "device", "owner": who is at the other end.
  absl::string_view final_message;  // "DI.Done": what an early end came before.
  size_t max_request_bytes = 0;
};

struct StreamOptions {
  StreamProtocol protocol;
  absl::Duration step_deadline = absl::Seconds(30);
  SessionCaps caps;
  // Each stream spends one token of its peer's bucket; null: no limit.
  RateLimiter* rate_limit = nullptr;
  // Each step of type `budget_step` spends one token of `budget` (one bucket for
  // every peer: RateLimiter keyed by ""); null: no budget.
  RateLimiter* budget = nullptr;
  protocol::MessageType budget_step = protocol::MessageType::kNone;
};

// What every stream kind of a process shares: the step timer, the worker pool
// and the session ids. Thread-safe; must outlive the gRPC servers that use it
// (shut them down first).
//
// Its metrics (docs/operations.md, "Monitoring"), labelled by protocol:
//   custody_sessions_total{protocol,outcome}        completed | refused
//   custody_session_refusals_total{protocol,check}  every refusal by its check,
//                                                   the caps and rate limit too
//   custody_sessions_in_flight{protocol}
//   custody_session_duration_seconds{protocol}      admitted sessions
//   custody_store_steps_queued                      steps waiting for a worker
class SessionFrame {
 public:
  static constexpr size_t kDefaultWorkers = 4;

  // `metrics` and `logger` must outlive the frame.
  SessionFrame(Clock& clock, MetricsRegistry& metrics, Logger& logger,
               size_t workers = kDefaultWorkers);
  SessionFrame(const SessionFrame&) = delete;
  SessionFrame& operator=(const SessionFrame&) = delete;

  Clock& clock() { return clock_; }
  StepTimer& timer() { return timer_; }
  WorkerPool& pool() { return pool_; }
  Logger& logger() { return logger_; }
  // A process-unique session id for log lines ("5f1c09a2-17").
  std::string NewSessionId();

 private:
  friend class StreamKind;
  friend class SessionReactorBase;
  Clock& clock_;
  Logger& logger_;
  CounterFamily& sessions_;
  CounterFamily& refusals_;
  GaugeFamily& in_flight_;
  HistogramFamily& durations_;
  const uint32_t id_prefix_;
  std::atomic<uint64_t> next_id_{1};
  StepTimer timer_;
  WorkerPool pool_;
};

// One stream kind (one gRPC method): its options, admission and counts.
// Thread-safe.
class StreamKind {
 public:
  StreamKind(SessionFrame& frame, StreamOptions options);
  StreamKind(const StreamKind&) = delete;
  StreamKind& operator=(const StreamKind&) = delete;

  SessionFrame& frame() { return frame_; }
  const StreamOptions& options() const { return options_; }
  Admission& admission() { return admission_; }

  // Sessions that ended, by outcome.
  uint64_t completed() const { return static_cast<uint64_t>(completed_.value()); }
  uint64_t refused() const { return static_cast<uint64_t>(refused_.value()); }

  // Builds the reactor for one stream (what a WithRawCallbackMethod_* method
  // returns). `describe`, when set, gives extra log fields for the session's
  // line ("guid=... "). The reactor deletes itself when gRPC is done with it.
  template <typename Session, typename Request, typename Response>
  ByteReactor* Open(grpc::CallbackServerContext* context, std::unique_ptr<Session> session,
                    std::function<std::string(const Session&)> describe = nullptr);

 private:
  friend class SessionReactorBase;
  // Counts a session's end: `check` empty for a completed one.
  void Count(const std::string& check, bool admitted, absl::Duration duration);

  SessionFrame& frame_;
  const StreamOptions options_;
  Admission admission_;
  Counter& completed_;
  Counter& refused_;
  Gauge& in_flight_;
  Histogram& duration_;
};

// Parses one received message as `protocol` bounds it (the `<name>.format`
// checks).
absl::Status ParseStreamMessage(const grpc::ByteBuffer& in, const StreamProtocol& protocol,
                                google::protobuf::Message* out);

// Serialises `message` into one slice, without an intermediate copy.
grpc::ByteBuffer SerializeToByteBuffer(const google::protobuf::Message& message);

// The stream mechanics, shared by every session type.
class SessionReactorBase : public ByteReactor, private StepTimer::Target {
 public:
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 protected:
  SessionReactorBase(grpc::CallbackServerContext* context, StreamKind& kind);
  ~SessionReactorBase() override;
  // Admits the stream and starts reading; the last call of a derived constructor.
  void Start();

  // Parses `in` into the derived class's request.
  virtual absl::Status Parse(const grpc::ByteBuffer& in) = 0;
  // The parsed request's type, in the session's current state.
  virtual protocol::MessageType Type() const = 0;
  // Hands the parsed request to the session: the answer, or the refusal.
  virtual absl::StatusOr<grpc::ByteBuffer> Step() = 0;
  virtual bool SessionDone() const = 0;
  virtual std::string Describe() const = 0;

 private:
  void StepExpired() override;
  void RunStep();
  // Ends the stream with `status` (once; later calls do nothing).
  void End(const grpc::Status& status);
  // Counts the outcome and finishes the call; after ended_ was set.
  void Finished(const grpc::Status& status);
  void WaitForPeer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::CallbackServerContext* const context_;
  StreamKind& kind_;
  const std::string peer_key_;
  const absl::Duration started_;
  uint64_t timer_id_ = 0;
  bool admitted_ = false;
  std::string session_id_;
  protocol::MessageType previous_ = protocol::MessageType::kNone;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;

  absl::Mutex mu_;
  // A read, or the write of an answer, is outstanding: the step deadline runs.
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status outcome_ ABSL_GUARDED_BY(mu_);
};

template <typename Session, typename Request, typename Response>
class SessionReactor final : public SessionReactorBase {
 public:
  SessionReactor(grpc::CallbackServerContext* context, StreamKind& kind,
                 std::unique_ptr<Session> session,
                 std::function<std::string(const Session&)> describe)
      : SessionReactorBase(context, kind),
        protocol_(kind.options().protocol),
        session_(std::move(session)),
        describe_(std::move(describe)) {
    Start();
  }

 private:
  absl::Status Parse(const grpc::ByteBuffer& in) override {
    return ParseStreamMessage(in, protocol_, &request_);
  }
  protocol::MessageType Type() const override { return session_->RequestType(request_); }
  absl::StatusOr<grpc::ByteBuffer> Step() override {
    CUSTODY_ASSIGN_OR_RETURN(Response response, session_->Handle(request_));
    return SerializeToByteBuffer(response);
  }
  bool SessionDone() const override { return session_->done(); }
  std::string Describe() const override { return describe_ ? describe_(*session_) : ""; }

  const StreamProtocol& protocol_;
  std::unique_ptr<Session> session_;
  std::function<std::string(const Session&)> describe_;
  Request request_;
};

template <typename Session, typename Request, typename Response>
ByteReactor* StreamKind::Open(grpc::CallbackServerContext* context,
                              std::unique_ptr<Session> session,
                              std::function<std::string(const Session&)> describe) {
  return new SessionReactor<Session, Request, Response>(context, *this, std::move(session),
                                                        std::move(describe));
}

}  // namespace custody::server

#endif  // CUSTODY_SERVER_SESSION_FRAME_H_
