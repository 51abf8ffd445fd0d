// The connection caps of a service's gRPC ports, as nftables rules.
//
// gRPC 1.51's public API has no hook at accept time: a server cannot refuse a TCP
// connection by count or by peer before the handshake. The caps are therefore the
// kernel's job, which is also the cheaper place: a connection over a cap is reset
// before it costs a descriptor, a handshake or any memory in the process. Each
// service writes its own rules from its configuration:
//
//   owner_server --config owner.textproto --nftables_rules | nft -f -
//
// For each gRPC listener (device-facing and admin), new TCP connections to its
// port are reset (TCP RST) when the peer already holds
// server.max_connections_per_peer of them (an IPv4 address, or an IPv6 /64, as
// the session caps count peers), or when the port already holds
// server.max_connections. Established connections are never touched. The rules
// live in their own table, `inet custody_<service>`, which loading replaces as a
// whole, so running the command again after a configuration change is safe; the
// metrics port has its own caps inside the process (server/metrics_http.h).
//
// Counting uses conntrack (nf_conntrack), so it holds for connections that
// conntrack tracks; on a host that skips conntrack for these ports (a NOTRACK
// rule) the caps do not apply.

#ifndef CUSTODY_SERVER_FIREWALL_H_
#define CUSTODY_SERVER_FIREWALL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "custody/v1/config.pb.h"

namespace custody::server {

inline constexpr uint32_t kDefaultMaxConnections = 8192;
inline constexpr uint32_t kDefaultMaxConnectionsPerPeer = 64;
inline constexpr uint32_t kMaxMaxConnections = 1000000;

// The ruleset for `service` ("owner", "rendezvous", "manufacturer"). Unset caps
// take their defaults. INVALID_ARGUMENT naming the field when an address does not
// parse or has port 0 (a port picked at each start cannot be firewalled: set a
// fixed one), or a cap is out of range.
absl::StatusOr<std::string> NftablesRules(const v1::ServerConfig& config,
                                          absl::string_view service);

// NftablesRules, written to standard output (the servers' --nftables_rules).
absl::Status WriteNftablesRules(const v1::ServerConfig& config, absl::string_view service);

// Checks the connection caps of `config` and fills their defaults
// (PrepareServerConfig calls it).
absl::Status PrepareConnectionCaps(v1::ServerConfig& config);

}  // namespace custody::server

#endif  // CUSTODY_SERVER_FIREWALL_H_
