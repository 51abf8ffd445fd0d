// Step deadlines for streaming RPCs: a stream whose current step (waiting for the
// peer's next message) takes longer than its deadline is cancelled, so a stalled or
// malicious peer cannot hold a session open. One watcher thread serves every stream.
//
// Thread-safe.

#ifndef CUSTODY_SERVER_STEP_DEADLINES_H_
#define CUSTODY_SERVER_STEP_DEADLINES_H_

#include <cstdint>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "grpcpp/server_context.h"

namespace custody::server {

class StepDeadlines {
 public:
  explicit StepDeadlines(Clock& clock);
  ~StepDeadlines();
  StepDeadlines(const StepDeadlines&) = delete;
  StepDeadlines& operator=(const StepDeadlines&) = delete;

  // Watches one stream while alive. Step() starts a new step (the deadline moves to
  // now + per_step).
  class Watch {
   public:
    ~Watch();
    void Step();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    Watch(Watch&& other) noexcept;

   private:
    friend class StepDeadlines;
    Watch(StepDeadlines* owner, uint64_t id, absl::Duration per_step)
        : owner_(owner), id_(id), per_step_(per_step) {}
    StepDeadlines* owner_;
    uint64_t id_;
    absl::Duration per_step_;
  };

  Watch Start(grpc::ServerContextBase* context, absl::Duration per_step);

  // Streams cancelled for a missed step so far.
  uint64_t cancelled() const;

 private:
  struct Entry {
    grpc::ServerContextBase* context;
    absl::Duration deadline;  // On the monotonic clock.
  };
  void Run();

  Clock& clock_;
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  std::map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t cancelled_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_STEP_DEADLINES_H_
