#include "server/admission.h"

#include "absl/strings/str_cat.h"
#include "core/base/status.h"

namespace custody::server {

Admission::Admission(absl::string_view protocol, const SessionCaps& caps)
    : sessions_check_(absl::StrCat(protocol, ".sessions")),
      peer_sessions_check_(absl::StrCat(protocol, ".peer_sessions")),
      caps_(caps) {}

absl::Status Admission::Enter(const std::string& peer_key) {
  absl::MutexLock lock(&mu_);
  if (in_flight_ >= caps_.max_sessions) {
    return CheckFailed(absl::StatusCode::kResourceExhausted, sessions_check_,
                       absl::StrCat("the service has ", caps_.max_sessions, " ",
                                    sessions_check_.substr(0, sessions_check_.find('.')),
                                    " sessions in flight, its limit; retry later"));
  }
  auto it = per_peer_.find(peer_key);
  if (it != per_peer_.end() && it->second >= caps_.max_sessions_per_peer) {
    return CheckFailed(absl::StatusCode::kResourceExhausted, peer_sessions_check_,
                       absl::StrCat("this address has ", caps_.max_sessions_per_peer,
                                    " sessions in flight, its limit; retry later"));
  }
  ++in_flight_;
  if (it == per_peer_.end()) {
    per_peer_.emplace(peer_key, 1);
  } else {
    ++it->second;
  }
  return absl::OkStatus();
}

void Admission::Leave(const std::string& peer_key) {
  absl::MutexLock lock(&mu_);
  auto it = per_peer_.find(peer_key);
  if (it == per_peer_.end()) return;
  if (--it->second == 0) per_peer_.erase(it);
  --in_flight_;
}

uint32_t Admission::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

}  // namespace custody::server
