#include "server/rate_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "core/base/status.h"

namespace custody::server {

std::string RateLimiter::PeerKey(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    const size_t colon = peer.rfind(':');
    return absl::StrCat("ipv4:", peer.substr(0, colon));
  }
  if (absl::ConsumePrefix(&peer, "ipv6:")) {
    // "[addr]:port" -> the /64 prefix of addr. gRPC writes the brackets
    // percent-encoded, as in a URI ("ipv6:%5B::1%5D:5678").
    const std::string unescaped =
        absl::StrReplaceAll(peer, {{"%5B", "["}, {"%5b", "["}, {"%5D", "]"}, {"%5d", "]"}});
    const absl::string_view bracketed = unescaped;
    const size_t close = bracketed.find(']');
    if (!bracketed.empty() && bracketed.front() == '[' && close != absl::string_view::npos) {
      std::string address(bracketed.substr(1, close - 1));
      // Drop a zone index ("%eth0").
      address = address.substr(0, address.find('%'));
      unsigned char bytes[16];
      if (::inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
        return absl::StrCat("ipv6:", std::string(reinterpret_cast<char*>(bytes), 8));
      }
    }
    return absl::StrCat("ipv6:", peer);
  }
  return std::string(peer);
}

double RateLimiter::Refilled(const Bucket& bucket, absl::Duration now) const {
  const double elapsed = absl::ToDoubleSeconds(now - bucket.updated);
  return std::min(limit_.burst, bucket.tokens + std::max(0.0, elapsed) * limit_.per_second);
}

void RateLimiter::MakeRoom(absl::Duration now) {
  // The least recently seen peers are at the back: drop, in one pass, those
  // whose buckets have refilled (they carry no state), and stop at the first
  // that has not. No scan of the whole table.
  while (!recency_.empty()) {
    auto it = buckets_.find(recency_.back());
    if (Refilled(it->second, now) < limit_.burst) break;
    buckets_.erase(it);
    recency_.pop_back();
  }
}

absl::Status RateLimiter::Spend(Bucket& bucket, absl::Duration now) {
  bucket.tokens = Refilled(bucket, now);
  bucket.updated = now;
  if (bucket.tokens < 1.0) {
    const double wait = (1.0 - bucket.tokens) / limit_.per_second;
    return CheckFailed(absl::StatusCode::kResourceExhausted, "rate_limit",
                       absl::StrCat("too many requests from this address; retry in ",
                                    static_cast<int64_t>(std::ceil(wait * 1000)), " ms"));
  }
  bucket.tokens -= 1.0;
  return absl::OkStatus();
}

absl::Status RateLimiter::Admit(absl::string_view peer) {
  std::string key = PeerKey(peer);
  const absl::Duration now = clock_.MonotonicNow();
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limit_.max_peers) MakeRoom(now);
    if (buckets_.size() >= limit_.max_peers) {
      // Every tracked peer is active: the new ones share one bucket, so that
      // no peer gets a fresh burst by pushing another out.
      if (!overflow_.has_value()) overflow_ = Bucket{limit_.burst, now, recency_.end()};
      return Spend(*overflow_, now);
    }
    recency_.push_front(key);
    it = buckets_.emplace(std::move(key), Bucket{limit_.burst, now, recency_.begin()}).first;
  } else {
    recency_.splice(recency_.begin(), recency_, it->second.recency);
  }
  return Spend(it->second, now);
}

size_t RateLimiter::tracked_peers() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace custody::server
