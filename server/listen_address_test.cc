#include "server/listen_address.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::server {
namespace {

using ::testing::HasSubstr;

TEST(ListenAddressTest, ParsesHostsAndPorts) {
  absl::StatusOr<ListenAddress> v4 = ParseListenAddress("f", "127.0.0.1:8040");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8040u);
  absl::StatusOr<ListenAddress> v6 = ParseListenAddress("f", "[::]:0");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::");
  EXPECT_TRUE(v6->wildcard());
  EXPECT_TRUE(ParseListenAddress("f", "localhost:65535").ok());
}

struct BadCase {
  const char* address;
  const char* why;
};

class BadListenAddressTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadListenAddressTest, RefusedNamingTheField) {
  absl::StatusOr<ListenAddress> parsed =
      ParseListenAddress("server.listen_address", GetParam().address);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("server.listen_address"));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(GetParam().why));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadListenAddressTest,
    ::testing::Values(BadCase{"", "is required"}, BadCase{"127.0.0.1", "no port"},
                      BadCase{"127.0.0.1:", "0 to 65535"}, BadCase{"127.0.0.1:65536", "0 to 65535"},
                      BadCase{"127.0.0.1:99999999", "0 to 65535"},
                      BadCase{"127.0.0.1:-1", "0 to 65535"}, BadCase{"127.0.0.1:8o", "0 to 65535"},
                      BadCase{"::1:8040", "in brackets"}, BadCase{"[::1]8040", "no port"},
                      BadCase{"[::1:8040", "']'"}, BadCase{"[nonsense]:1", "not an IPv6"},
                      BadCase{":8040", "not a host"}, BadCase{"a b:1", "not a host"}));

TEST(ListenAddressTest, TwoListenersOnOnePortAreRefused) {
  absl::Status same = CheckListenAddresses({{"server.listen_address", "127.0.0.1:8040"},
                                            {"server.admin_listen_address", "127.0.0.1:8040"}});
  EXPECT_EQ(same.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(same.message()),
              HasSubstr("server.admin_listen_address and server.listen_address both listen on "
                        "port 8040"));
  EXPECT_FALSE(CheckListenAddresses({{"a", "0.0.0.0:8040"}, {"b", "127.0.0.1:8040"}}).ok());
  EXPECT_FALSE(CheckListenAddresses({{"a", "127.0.0.1:8040"}, {"b", "[::]:8040"}}).ok());
  // Port 0 picks a free port for each; distinct hosts may share a number.
  EXPECT_TRUE(CheckListenAddresses({{"a", "127.0.0.1:0"}, {"b", "127.0.0.1:0"}}).ok());
  EXPECT_TRUE(CheckListenAddresses({{"a", "127.0.0.1:8040"}, {"b", "127.0.0.2:8040"}}).ok());
  EXPECT_TRUE(CheckListenAddresses({{"a", "127.0.0.1:8040"}, {"b", "127.0.0.1:8041"}}).ok());
}

}  // namespace
}  // namespace custody::server
