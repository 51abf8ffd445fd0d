// Admission control for the session streams: caps on the sessions in flight for
// one stream kind (DI, TO0, TO1, TO2), in all and per peer (an IPv4 address or
// an IPv6 /64, as server/rate_limiter.h tells peers apart). A stream over a cap
// ends at once with RESOURCE_EXHAUSTED before any message is read, so a flood
// costs no cryptography and no thread.
//
// Thread-safe. The per-peer table holds only peers with a session in flight,
// so it is bounded by the total cap.

#ifndef CUSTODY_SERVER_ADMISSION_H_
#define CUSTODY_SERVER_ADMISSION_H_

#include <cstdint>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace custody::server {

struct SessionCaps {
  uint32_t max_sessions = 4096;
  uint32_t max_sessions_per_peer = 64;
};

class Admission {
 public:
  // `protocol` prefixes the check names ("to2" -> to2.sessions).
  Admission(absl::string_view protocol, const SessionCaps& caps);
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // OK and the session counted under `peer_key` (RateLimiter::PeerKey), or
  // RESOURCE_EXHAUSTED: `<protocol>.sessions` (the service's cap) or
  // `<protocol>.peer_sessions` (the peer's).
  absl::Status Enter(const std::string& peer_key);
  // Ends a session that Enter() admitted.
  void Leave(const std::string& peer_key);

  uint32_t in_flight() const;
  const SessionCaps& caps() const { return caps_; }

 private:
  const std::string sessions_check_;
  const std::string peer_sessions_check_;
  const SessionCaps caps_;
  mutable absl::Mutex mu_;
  uint32_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, uint32_t> per_peer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_ADMISSION_H_
