#include "server/session_frame.h"

#include <openssl/rand.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/proto_parse.h"
#include "server/grpc_status.h"

namespace custody::server {
namespace {

uint32_t RandomPrefix() {
  uint32_t prefix = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&prefix), sizeof(prefix)) != 1) prefix = 0;
  return prefix;
}

}  // namespace

SessionFrame::SessionFrame(Clock& clock, MetricsRegistry& metrics, Logger& logger, size_t workers)
    : clock_(clock),
      logger_(logger),
      sessions_(metrics.AddCounter("custody_sessions_total",
                                   "Protocol sessions (DI, TO0, TO1, TO2) that ended, by outcome.",
                                   {"protocol", "outcome"})),
      refusals_(metrics.AddCounter(
          "custody_session_refusals_total",
          "Protocol sessions refused, by the check that refused them (the session caps and the "
          "rate limit included).",
          {"protocol", "check"})),
      in_flight_(metrics.AddGauge("custody_sessions_in_flight",
                                  "Protocol sessions admitted and not yet ended.", {"protocol"})),
      durations_(metrics.AddHistogram(
          "custody_session_duration_seconds",
          "How long admitted protocol sessions lasted, from admission to their end.", {"protocol"},
          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})),
      id_prefix_(RandomPrefix()),
      timer_(clock),
      pool_(workers) {
  metrics.AddCallbackGauge("custody_store_steps_queued",
                           "Session steps that touch the store, waiting for a worker.",
                           [this] { return static_cast<double>(pool_.queued()); });
}

std::string SessionFrame::NewSessionId() {
  return absl::StrFormat("%08x-%x", id_prefix_, next_id_.fetch_add(1, std::memory_order_relaxed));
}

StreamKind::StreamKind(SessionFrame& frame, StreamOptions options)
    : frame_(frame),
      options_(std::move(options)),
      admission_(options_.protocol.name, options_.caps),
      completed_(frame.sessions_.With({options_.protocol.name, "completed"})),
      refused_(frame.sessions_.With({options_.protocol.name, "refused"})),
      in_flight_(frame.in_flight_.With({options_.protocol.name})),
      duration_(frame.durations_.With({options_.protocol.name})) {}

void StreamKind::Count(const std::string& check, bool admitted, absl::Duration duration) {
  if (check.empty()) {
    completed_.Increment();
  } else {
    refused_.Increment();
    frame_.refusals_.With({options_.protocol.name, check}).Increment();
  }
  if (admitted) duration_.Observe(absl::ToDoubleSeconds(duration));
}

absl::Status ParseStreamMessage(const grpc::ByteBuffer& in, const StreamProtocol& protocol,
                                google::protobuf::Message* out) {
  const std::string check = absl::StrCat(protocol.name, ".format");
  std::vector<grpc::Slice> slices;
  if (in.Length() > protocol.max_request_bytes || !in.Dump(&slices).ok()) {
    return CheckFailed(
        absl::StatusCode::kResourceExhausted, check,
        absl::StrCat("a ", protocol.what, " is at most ", protocol.max_request_bytes, " bytes"));
  }
  absl::Status parsed;
  if (slices.size() == 1) {
    parsed = ParseStrict(
        absl::string_view(reinterpret_cast<const char*>(slices[0].begin()), slices[0].size()),
        protocol.max_request_bytes, protocol.what, out);
  } else {
    std::string bytes;
    bytes.reserve(in.Length());
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    parsed = ParseStrict(bytes, protocol.max_request_bytes, protocol.what, out);
  }
  if (!parsed.ok()) return CheckFailed(absl::StatusCode::kInvalidArgument, check, parsed.message());
  return absl::OkStatus();
}

grpc::ByteBuffer SerializeToByteBuffer(const google::protobuf::Message& message) {
  const size_t size = message.ByteSizeLong();
  grpc::Slice slice(size);
  message.SerializeWithCachedSizesToArray(const_cast<uint8_t*>(slice.begin()));
  return grpc::ByteBuffer(&slice, 1);
}

SessionReactorBase::SessionReactorBase(grpc::CallbackServerContext* context, StreamKind& kind)
    : context_(context),
      kind_(kind),
      peer_key_(RateLimiter::PeerKey(context->peer())),
      started_(kind.frame().clock().MonotonicNow()) {}

SessionReactorBase::~SessionReactorBase() = default;

void SessionReactorBase::Start() {
  const StreamOptions& options = kind_.options();
  absl::Status admitted = absl::OkStatus();
  if (options.rate_limit != nullptr) admitted = options.rate_limit->Admit(context_->peer());
  if (admitted.ok()) admitted = kind_.admission().Enter(peer_key_);
  if (!admitted.ok()) {
    End(ToGrpcStatus(admitted));
    return;
  }
  admitted_ = true;
  kind_.in_flight_.Add(1);
  session_id_ = kind_.frame().NewSessionId();
  timer_id_ = kind_.frame().timer().Add(this);
  absl::MutexLock lock(&mu_);
  WaitForPeer();
}

void SessionReactorBase::WaitForPeer() {
  waiting_ = true;
  kind_.frame().timer().Arm(timer_id_, kind_.options().step_deadline);
  StartRead(&in_);
}

void SessionReactorBase::StepExpired() {
  const StreamProtocol& protocol = kind_.options().protocol;
  grpc::Status status;
  {
    // Only while the peer is awaited: a message that arrived meanwhile is being
    // handled, and its step will answer or end the stream. While waiting_ holds,
    // no step runs, so previous_ is not being written.
    absl::MutexLock lock(&mu_);
    if (!waiting_ || ended_) return;
    status = ToGrpcStatus(
        CheckFailed(absl::StatusCode::kDeadlineExceeded,
                    absl::StrCat(protocol.name, ".step_deadline"),
                    absl::StrCat("the ", protocol.peer, " neither sent nor took a message for ",
                                 absl::FormatDuration(kind_.options().step_deadline))),
        protocol::MessageNumber(previous_));
    ended_ = true;
    outcome_ = status;
  }
  Finished(status);
}

void SessionReactorBase::OnReadDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    waiting_ = false;
    if (ended_) return;
  }
  kind_.frame().timer().Disarm(timer_id_);
  const StreamProtocol& protocol = kind_.options().protocol;
  if (!ok) {
    // The peer half-closed, or the call was cancelled (the peer went away, or
    // the server is shutting down).
    if (context_->IsCancelled()) {
      End(ToGrpcStatus(
          CheckFailed(absl::StatusCode::kCancelled, absl::StrCat(protocol.name, ".cancelled"),
                      "the stream was cancelled"),
          protocol::MessageNumber(previous_)));
    } else {
      End(ToGrpcStatus(CheckFailed(absl::StatusCode::kFailedPrecondition,
                                   absl::StrCat(protocol.name, ".incomplete"),
                                   absl::StrCat("the ", protocol.peer, " ended the stream before ",
                                                protocol.final_message)),
                       protocol::MessageNumber(previous_)));
    }
    return;
  }
  absl::Status parsed = Parse(in_);
  in_.Clear();
  if (!parsed.ok()) {
    End(ToGrpcStatus(parsed, protocol::MessageNumber(previous_)));
    return;
  }
  previous_ = Type();
  if (protocol::StepTouchesStore(previous_)) {
    kind_.frame().pool().Submit([this] { RunStep(); });
  } else {
    RunStep();
  }
}

void SessionReactorBase::RunStep() {
  const StreamOptions& options = kind_.options();
  if (options.budget != nullptr && previous_ == options.budget_step) {
    absl::Status spent = options.budget->Admit("");
    if (!spent.ok()) {
      End(ToGrpcStatus(
          CheckFailed(absl::StatusCode::kResourceExhausted,
                      absl::StrCat(options.protocol.name, ".busy"),
                      "the service is at its limit of sessions started per second, over all peers; "
                      "retry in a few seconds"),
          protocol::MessageNumber(previous_)));
      return;
    }
  }
  absl::StatusOr<grpc::ByteBuffer> answer = Step();
  if (!answer.ok()) {
    End(ToGrpcStatus(answer.status(), protocol::MessageNumber(previous_)));
    return;
  }
  out_ = *std::move(answer);
  // The peer must take the answer within a step too: one that stops reading
  // (HTTP/2 flow control) is ended like one that stops writing.
  absl::MutexLock lock(&mu_);
  if (ended_) return;
  waiting_ = true;
  kind_.frame().timer().Arm(timer_id_, kind_.options().step_deadline);
  StartWrite(&out_);
}

void SessionReactorBase::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    waiting_ = false;
    if (ended_) return;
  }
  kind_.frame().timer().Disarm(timer_id_);
  out_.Clear();
  if (!ok) {
    const StreamProtocol& protocol = kind_.options().protocol;
    End(ToGrpcStatus(
        CheckFailed(absl::StatusCode::kCancelled, absl::StrCat(protocol.name, ".cancelled"),
                    absl::StrCat("the ", protocol.peer, " went away")),
        protocol::MessageNumber(previous_)));
    return;
  }
  if (SessionDone()) {
    End(grpc::Status::OK);
    return;
  }
  absl::MutexLock lock(&mu_);
  if (!ended_) WaitForPeer();
}

void SessionReactorBase::End(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return;
    ended_ = true;
    outcome_ = status;
  }
  Finished(status);
}

void SessionReactorBase::Finished(const grpc::Status& status) {
  const absl::Duration duration = kind_.frame().clock().MonotonicNow() - started_;
  const std::string check = status.ok() ? "" : ErrorDetailOf(status).check();
  kind_.Count(status.ok() || !check.empty() ? check : "unnamed", admitted_, duration);
  if (!status.ok() && !admitted_) {
    // Refused before any message: one debug line (a flood must not flood the
    // log); the refusal counter shows the rate.
    kind_.frame().logger().Debug("session refused",
                                 {{"protocol", kind_.options().protocol.name},
                                  {"peer", context_->peer()},
                                  {"check", check},
                                  {"code", static_cast<int>(status.error_code())}});
  }
  Finish(status);
}

void SessionReactorBase::OnDone() {
  if (admitted_) {
    kind_.frame().timer().Remove(timer_id_);
    kind_.admission().Leave(peer_key_);
    kind_.in_flight_.Add(-1);
    grpc::Status outcome;
    {
      absl::MutexLock lock(&mu_);
      outcome = outcome_;
    }
    // Every admitted session is one line: completed at info, refused at warning.
    const double ms = absl::ToDoubleMilliseconds(kind_.frame().clock().MonotonicNow() - started_);
    const std::string detail = Describe();
    const absl::string_view protocol = kind_.options().protocol.name;
    if (outcome.ok()) {
      kind_.frame().logger().Info("session completed",
                                  {{"session", session_id_},
                                   {"protocol", protocol},
                                   {"peer", context_->peer()},
                                   {"duration_ms", absl::StrFormat("%.1f", ms)},
                                   {"detail", detail}});
    } else {
      kind_.frame().logger().Warning("session refused",
                                     {{"session", session_id_},
                                      {"protocol", protocol},
                                      {"peer", context_->peer()},
                                      {"check", ErrorDetailOf(outcome).check()},
                                      {"code", static_cast<int>(outcome.error_code())},
                                      {"last_message", protocol::MessageTypeName(previous_)},
                                      {"duration_ms", absl::StrFormat("%.1f", ms)},
                                      {"error", outcome.error_message()},
                                      {"detail", detail}});
    }
  }
  delete this;
}

}  // namespace custody::server
