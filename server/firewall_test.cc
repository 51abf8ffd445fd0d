// The nftables rules a service prints for its connection caps. That the kernel
// enforces them is shown by //integration:connection_caps_test.

#include "server/firewall.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::server {
namespace {

using ::testing::HasSubstr;

v1::ServerConfig Config() {
  v1::ServerConfig config;
  config.set_listen_address("0.0.0.0:8040");
  config.set_admin_listen_address("[::1]:8041");
  return config;
}

TEST(NftablesRulesTest, CapsEachGrpcPortPerPeerAndInAll) {
  v1::ServerConfig config = Config();
  config.set_max_connections(100);
  config.set_max_connections_per_peer(10);
  absl::StatusOr<std::string> rules = NftablesRules(config, "owner");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(
      *rules,
      "# Connection caps of the Custody owner service (docs/server.md, \"Connection caps\"):\n"
      "# server.max_connections_per_peer = 10 per IPv4 address or IPv6 /64, "
      "server.max_connections = 100 per port.\n"
      "# Load with nft -f; loading again replaces the table.\n"
      "table inet custody_owner\n"
      "delete table inet custody_owner\n"
      "table inet custody_owner {\n"
      "  set device_peers4 { type ipv4_addr; size 65536; flags dynamic; }\n"
      "  set device_peers6 { type ipv6_addr; size 65536; flags dynamic; }\n"
      "  set admin_peers4 { type ipv4_addr; size 65536; flags dynamic; }\n"
      "  set admin_peers6 { type ipv6_addr; size 65536; flags dynamic; }\n"
      "  chain input {\n"
      "    type filter hook input priority filter; policy accept;\n"
      "    # server.listen_address 0.0.0.0:8040\n"
      "    tcp dport 8040 ct state new add @device_peers4 { ip saddr ct count over 10 } "
      "counter reject with tcp reset comment \"device: per peer\"\n"
      "    tcp dport 8040 ct state new add @device_peers6 { ip6 saddr & "
      "ffff:ffff:ffff:ffff:: ct count over 10 } counter reject with tcp reset comment "
      "\"device: per peer\"\n"
      "    tcp dport 8040 ct state new ct count over 100 counter reject with tcp reset "
      "comment \"device: per port\"\n"
      "    # server.admin_listen_address [::1]:8041\n"
      "    tcp dport 8041 ct state new add @admin_peers4 { ip saddr ct count over 10 } "
      "counter reject with tcp reset comment \"admin: per peer\"\n"
      "    tcp dport 8041 ct state new add @admin_peers6 { ip6 saddr & "
      "ffff:ffff:ffff:ffff:: ct count over 10 } counter reject with tcp reset comment "
      "\"admin: per peer\"\n"
      "    tcp dport 8041 ct state new ct count over 100 counter reject with tcp reset "
      "comment \"admin: per port\"\n"
      "  }\n"
      "}\n");
}

TEST(NftablesRulesTest, UnsetCapsTakeTheirDefaults) {
  absl::StatusOr<std::string> rules = NftablesRules(Config(), "rendezvous");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_THAT(*rules, HasSubstr("table inet custody_rendezvous {"));
  EXPECT_THAT(*rules, HasSubstr("ip saddr ct count over 64 }"));
  EXPECT_THAT(*rules, HasSubstr("ct state new ct count over 8192 counter"));
}

TEST(NftablesRulesTest, RefusesWhatNoRuleCanName) {
  v1::ServerConfig config = Config();
  config.set_listen_address("0.0.0.0:0");
  EXPECT_EQ(NftablesRules(config, "owner").status().message(),
            "server.listen_address \"0.0.0.0:0\": port 0 picks a free port at each start, which "
            "no rule can name; set a fixed port");
  config = Config();
  config.set_admin_listen_address("localhost");
  EXPECT_THAT(NftablesRules(config, "owner").status().message(),
              HasSubstr("server.admin_listen_address"));
  config = Config();
  config.set_max_connections(10);
  config.set_max_connections_per_peer(11);
  EXPECT_EQ(NftablesRules(config, "owner").status().message(),
            "server.max_connections_per_peer must be at most server.max_connections");
  config = Config();
  config.set_max_connections(kMaxMaxConnections + 1);
  EXPECT_EQ(NftablesRules(config, "owner").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NftablesRules(Config(), "owner; flush ruleset").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace custody::server
