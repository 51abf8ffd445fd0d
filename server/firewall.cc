#include "server/firewall.h"

#include <cstdio>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "server/listen_address.h"

namespace custody::server {
namespace {

// Peers one dynamic set tracks; past it, new peers are not added (and so not
// capped per peer) until old entries time out, while the per-port cap still holds.
constexpr int kPeerSetSize = 65536;

struct Listener {
  std::string name;  // "device", "admin": the sets' prefix.
  std::string field;
  std::string address;
};

}  // namespace

absl::Status PrepareConnectionCaps(v1::ServerConfig& config) {
  if (config.max_connections() == 0) config.set_max_connections(kDefaultMaxConnections);
  if (config.max_connections() > kMaxMaxConnections) {
    return absl::InvalidArgumentError(
        absl::StrCat("server.max_connections must be at most ", kMaxMaxConnections));
  }
  if (config.max_connections_per_peer() == 0) {
    config.set_max_connections_per_peer(kDefaultMaxConnectionsPerPeer);
  }
  if (config.max_connections_per_peer() > config.max_connections()) {
    return absl::InvalidArgumentError(
        "server.max_connections_per_peer must be at most server.max_connections");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NftablesRules(const v1::ServerConfig& original,
                                          absl::string_view service) {
  if (service.empty() || !absl::c_all_of(service, [](char c) { return absl::ascii_islower(c); })) {
    return absl::InvalidArgumentError("the service name must be lower-case letters");
  }
  v1::ServerConfig config = original;
  CUSTODY_RETURN_IF_ERROR(PrepareConnectionCaps(config));
  const std::vector<Listener> listeners = {
      {"device", "server.listen_address", config.listen_address()},
      {"admin", "server.admin_listen_address", config.admin_listen_address()}};
  const std::string table = absl::StrCat("custody_", service);
  const std::string per_peer = absl::StrCat(config.max_connections_per_peer());
  const std::string per_port = absl::StrCat(config.max_connections());
  std::string sets;
  std::string rules;
  for (const Listener& listener : listeners) {
    CUSTODY_ASSIGN_OR_RETURN(ListenAddress parsed,
                             ParseListenAddress(listener.field, listener.address));
    if (parsed.port == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          listener.field, " \"", listener.address,
          "\": port 0 picks a free port at each start, which no rule can name; set a fixed port"));
    }
    const std::string port = absl::StrCat(parsed.port);
    absl::StrAppend(&sets, "  set ", listener.name, "_peers4 { type ipv4_addr; size ", kPeerSetSize,
                    "; flags dynamic; }\n", "  set ", listener.name,
                    "_peers6 { type ipv6_addr; size ", kPeerSetSize, "; flags dynamic; }\n");
    absl::StrAppend(&rules, "    # ", listener.field, " ", listener.address, "\n");
    absl::StrAppend(&rules, "    tcp dport ", port, " ct state new add @", listener.name,
                    "_peers4 { ip saddr ct count over ", per_peer,
                    " } counter reject with tcp reset comment \"", listener.name, ": per peer\"\n");
    absl::StrAppend(&rules, "    tcp dport ", port, " ct state new add @", listener.name,
                    "_peers6 { ip6 saddr & ffff:ffff:ffff:ffff:: ct count over ", per_peer,
                    " } counter reject with tcp reset comment \"", listener.name, ": per peer\"\n");
    absl::StrAppend(&rules, "    tcp dport ", port, " ct state new ct count over ", per_port,
                    " counter reject with tcp reset comment \"", listener.name, ": per port\"\n");
  }
  std::string out =
      absl::StrCat("# Connection caps of the Custody ", service,
                   " service (docs/server.md, \"Connection caps\"):\n"
                   "# server.max_connections_per_peer = ",
                   per_peer, " per IPv4 address or IPv6 /64, server.max_connections = ", per_port,
                   " per port.\n"
                   "# Load with nft -f; loading again replaces the table.\n",
                   "table inet ", table, "\n", "delete table inet ", table, "\n", "table inet ",
                   table, " {\n", sets,
                   "  chain input {\n"
                   "    type filter hook input priority filter; policy accept;\n",
                   rules, "  }\n}\n");
  return out;
}

absl::Status WriteNftablesRules(const v1::ServerConfig& config, absl::string_view service) {
  CUSTODY_ASSIGN_OR_RETURN(std::string rules, NftablesRules(config, service));
  if (std::fwrite(rules.data(), 1, rules.size(), stdout) != rules.size() ||
      std::fflush(stdout) != 0) {
    return absl::UnavailableError("cannot write the rules to standard output");
  }
  return absl::OkStatus();
}

}  // namespace custody::server
