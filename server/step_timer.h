// Step deadlines for the session streams: one thread for every stream of a
// process. A stream arms its entry while it waits for the peer's next message;
// when the deadline passes first, the timer calls the entry's target, which
// ends the stream with `<protocol>.step_deadline` (server/session_frame.h), so
// that the stalled peer is told why rather than seeing CANCELLED.
//
// Entries are kept in deadline order: arming, disarming and expiring cost
// O(log n), whatever the number of streams.
//
// Thread-safe. Remove() waits while the entry's target is being called, so a
// target may be destroyed as soon as Remove() returns; a target must therefore
// never call Remove() for its own entry from StepExpired().

#ifndef CUSTODY_SERVER_STEP_TIMER_H_
#define CUSTODY_SERVER_STEP_TIMER_H_

#include <cstdint>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/clock.h"

namespace custody::server {

class StepTimer {
 public:
  class Target {
   public:
    virtual ~Target() = default;
    // Called on the timer's thread, without the timer's lock, once per expiry.
    virtual void StepExpired() = 0;
  };

  explicit StepTimer(Clock& clock);
  ~StepTimer();
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;

  // A new, disarmed entry for `target`, which must stay alive until Remove().
  uint64_t Add(Target* target);
  // The deadline becomes now + `after` (replacing any earlier one).
  void Arm(uint64_t id, absl::Duration after);
  void Disarm(uint64_t id);
  // Forgets the entry; waits while its target is being called.
  void Remove(uint64_t id);

  // Entries that expired so far.
  uint64_t expired() const;
  // Entries added and not yet removed.
  size_t size() const;

 private:
  struct Entry {
    Target* target;
    absl::Duration deadline;  // Monotonic; InfiniteDuration() while disarmed.
  };
  void DisarmLocked(Entry& entry, uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();

  Clock& clock_;
  mutable absl::Mutex mu_;
  absl::CondVar wake_;   // The timer thread: an earlier deadline, or stopping.
  absl::CondVar fired_;  // Remove(): a target's call returned.
  std::unordered_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<absl::Duration, uint64_t>> armed_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t firing_ ABSL_GUARDED_BY(mu_) = 0;  // The entry whose target is being called.
  uint64_t expired_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // When the waiting timer thread wakes by itself (on the clock's monotonic
  // time); minus infinity while it runs, since it looks at the deadlines again
  // before it waits. An armed deadline earlier
  // than this wakes it; a later one, the usual case, costs no wake-up.
  absl::Duration wake_at_ ABSL_GUARDED_BY(mu_) = -absl::InfiniteDuration();
  std::thread thread_;
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_STEP_TIMER_H_
