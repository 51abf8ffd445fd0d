#include "server/step_deadlines.h"

#include <algorithm>
#include <utility>

namespace custody::server {

StepDeadlines::StepDeadlines(Clock& clock) : clock_(clock), thread_([this] { Run(); }) {}

StepDeadlines::~StepDeadlines() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    changed_.Signal();
  }
  thread_.join();
}

StepDeadlines::Watch StepDeadlines::Start(grpc::ServerContextBase* context, absl::Duration per_step) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  entries_[id] = Entry{context, clock_.MonotonicNow() + per_step};
  changed_.Signal();
  return Watch(this, id, per_step);
}

uint64_t StepDeadlines::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

StepDeadlines::Watch::Watch(Watch&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_), per_step_(other.per_step_) {}

StepDeadlines::Watch::~Watch() {
  if (owner_ == nullptr) return;
  absl::MutexLock lock(&owner_->mu_);
  owner_->entries_.erase(id_);
}

void StepDeadlines::Watch::Step() {
  if (owner_ == nullptr) return;
  absl::MutexLock lock(&owner_->mu_);
  auto it = owner_->entries_.find(id_);
  if (it != owner_->entries_.end()) {
    it->second.deadline = owner_->clock_.MonotonicNow() + per_step_;
  }
}

void StepDeadlines::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Duration now = clock_.MonotonicNow();
    absl::Duration next = absl::InfiniteDuration();
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.deadline <= now) {
        it->second.context->TryCancel();
        ++cancelled_;
        it = entries_.erase(it);
      } else {
        next = std::min(next, it->second.deadline - now);
        ++it;
      }
    }
    // Wake at the next deadline, on a change, or at least every second (the clock
    // may be a test's).
    changed_.WaitWithTimeout(&mu_, std::min(next, absl::Seconds(1)));
  }
}

}  // namespace custody::server
