// Per-peer rate limiting for the internet-facing ports: a token bucket per peer
// address (IPv4 address, or IPv6 /64 prefix, so one host cannot dodge the limit by
// walking its own addresses). Each bucket holds up to `burst` tokens and refills at
// `per_second`; a call costs one token.
//
// The table of buckets is bounded (`max_peers`). When it is full, the least
// recently seen buckets that have refilled completely are dropped together
// (they carry no state), without a scan of the table; if it is still full,
// every new peer shares one overflow bucket, so that no peer is ever handed a
// fresh burst by pushing another out. Thread-safe.

#ifndef CUSTODY_SERVER_RATE_LIMITER_H_
#define CUSTODY_SERVER_RATE_LIMITER_H_

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/clock.h"

namespace custody::server {

struct RateLimit {
  double per_second = 10;
  double burst = 20;
  size_t max_peers = 100000;
};

class RateLimiter {
 public:
  RateLimiter(const RateLimit& limit, Clock& clock) : limit_(limit), clock_(clock) {}
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // OK and one token spent, or RESOURCE_EXHAUSTED (check "rate_limit") saying
  // when to retry. `peer` is gRPC's peer string ("ipv4:1.2.3.4:5678",
  // "ipv6:%5B::1%5D:5678" or "ipv6:[::1]:5678"); anything else is limited as
  // one peer per string.
  absl::Status Admit(absl::string_view peer);

  // The key a peer string is limited under (for tests and logs).
  static std::string PeerKey(absl::string_view peer);

  size_t tracked_peers() const;

 private:
  struct Bucket {
    double tokens;
    absl::Duration updated;  // Monotonic.
    std::list<std::string>::iterator recency;
  };
  void MakeRoom(absl::Duration now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Spend(Bucket& bucket, absl::Duration now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double Refilled(const Bucket& bucket, absl::Duration now) const;

  const RateLimit limit_;
  Clock& clock_;
  mutable absl::Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  // Most recently seen first.
  std::list<std::string> recency_ ABSL_GUARDED_BY(mu_);
  // Shared by the peers that find the table full of active ones.
  std::optional<Bucket> overflow_ ABSL_GUARDED_BY(mu_);
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_RATE_LIMITER_H_
