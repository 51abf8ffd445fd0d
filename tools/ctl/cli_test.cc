#include "tools/ctl/cli.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::custodyctl {
namespace {

using ::testing::HasSubstr;

const CommandSpec kSpec{"voucher verify",
                        {{"owner-pub", true, false}, {"json", false, false}, {"out", true, true}},
                        1,
                        1,
                        "FILE --out OUT",
                        "summary"};

TEST(ParseCommandTest, AcceptsBothOptionFormsAndFlags) {
  absl::StatusOr<ParsedCommand> parsed =
      ParseCommand(kSpec, {"v.pem", "--owner-pub", "o.pub", "--out=x", "--json"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->args, std::vector<std::string>{"v.pem"});
  EXPECT_EQ(parsed->Get("owner-pub"), "o.pub");
  EXPECT_EQ(parsed->Get("out"), "x");
  EXPECT_TRUE(parsed->Has("json"));
  EXPECT_FALSE(parsed->Get("missing").has_value());
}

TEST(ParseCommandTest, DoubleDashEndsOptions) {
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(kSpec, {"--out", "x", "--", "--v.pem"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->args, std::vector<std::string>{"--v.pem"});
}

struct UsageCase {
  std::string name;
  std::vector<std::string> argv;
  std::string message;
};

class ParseCommandUsageTest : public testing::TestWithParam<UsageCase> {};

TEST_P(ParseCommandUsageTest, NamesTheProblem) {
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(kSpec, GetParam().argv);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    All, ParseCommandUsageTest,
    testing::Values(
        UsageCase{"Unknown", {"v", "--out", "x", "--owner_pub", "o"}, "unknown option --owner_pub"},
        UsageCase{"MissingValue", {"v", "--out"}, "--out needs a value"},
        UsageCase{"EmptyValue", {"v", "--out="}, "--out is empty"},
        UsageCase{"FlagWithValue", {"v", "--out", "x", "--json=1"}, "--json takes no value"},
        UsageCase{"Twice", {"v", "--out", "x", "--out", "y"}, "--out given twice"},
        UsageCase{"Required", {"v"}, "--out is required"},
        UsageCase{"TooManyArgs", {"v", "w", "--out", "x"}, "expected 1 argument, got 2"},
        UsageCase{"NoArgs", {"--out", "x"}, "expected 1 argument, got 0"}),
    [](const testing::TestParamInfo<UsageCase>& info) { return info.param.name; });

}  // namespace
}  // namespace custody::custodyctl
