#include "server/step_timer.h"

#include <algorithm>

namespace custody::server {

StepTimer::StepTimer(Clock& clock) : clock_(clock), thread_([this] { Run(); }) {}

StepTimer::~StepTimer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  thread_.join();
}

uint64_t StepTimer::Add(Target* target) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  entries_.emplace(id, Entry{target, absl::InfiniteDuration()});
  return id;
}

void StepTimer::DisarmLocked(Entry& entry, uint64_t id) {
  if (entry.deadline != absl::InfiniteDuration()) {
    armed_.erase({entry.deadline, id});
    entry.deadline = absl::InfiniteDuration();
  }
}

void StepTimer::Arm(uint64_t id, absl::Duration after) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  DisarmLocked(it->second, id);
  it->second.deadline = clock_.MonotonicNow() + after;
  armed_.emplace(it->second.deadline, id);
  if (it->second.deadline < wake_at_) wake_.Signal();
}

void StepTimer::Disarm(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) DisarmLocked(it->second, id);
}

void StepTimer::Remove(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    DisarmLocked(it->second, id);
    entries_.erase(it);
  }
  while (firing_ == id) fired_.Wait(&mu_);
}

uint64_t StepTimer::expired() const {
  absl::MutexLock lock(&mu_);
  return expired_;
}

size_t StepTimer::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

void StepTimer::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Duration now = clock_.MonotonicNow();
    if (!armed_.empty() && armed_.begin()->first <= now) {
      const uint64_t id = armed_.begin()->second;
      armed_.erase(armed_.begin());
      Entry& entry = entries_.at(id);
      entry.deadline = absl::InfiniteDuration();
      Target* target = entry.target;
      ++expired_;
      firing_ = id;
      mu_.Unlock();
      target->StepExpired();
      mu_.Lock();
      firing_ = 0;
      fired_.SignalAll();
      continue;
    }
    // Wake at the next deadline, on an earlier one, or at least every second
    // (the clock may be a test's).
    const absl::Duration wait =
        armed_.empty() ? absl::Seconds(1) : std::min(armed_.begin()->first - now, absl::Seconds(1));
    wake_at_ = now + wait;
    wake_.WaitWithTimeout(&mu_, wait);
    wake_at_ = -absl::InfiniteDuration();
  }
}

}  // namespace custody::server
