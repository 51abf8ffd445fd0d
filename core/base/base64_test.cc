#include "core/base/base64.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody {
namespace {

using ::testing::HasSubstr;

// RFC 4648 section 10.
TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    absl::StatusOr<std::string> decoded = Base64Decode(encoded, 100);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64Test, LinesRoundTrip) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  const std::string text = Base64Encode(bytes, 64);
  EXPECT_EQ(text.substr(64, 1), "\n");
  EXPECT_EQ(text.back(), '\n');
  absl::StatusOr<std::string> decoded = Base64Decode(text, bytes.size());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, bytes);
}

struct BadCase {
  std::string name;
  std::string text;
  std::string message;
};

class Base64BadTest : public testing::TestWithParam<BadCase> {};

TEST_P(Base64BadTest, IsRefused) {
  absl::StatusOr<std::string> decoded = Base64Decode(GetParam().text, 100);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded.status().message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    All, Base64BadTest,
    testing::Values(BadCase{"BadCharacter", "Zm9v!mFy", "invalid base64 character at position 4"},
                    BadCase{"Space", "Zm9v YmFy", "position 4"},
                    BadCase{"Length", "Zm9vY", "not a multiple of 4"},
                    BadCase{"PaddingInside", "Zg==Zm9v", "misplaced base64 padding"},
                    BadCase{"ThreePads", "Z===", "misplaced base64 padding"},
                    BadCase{"NonCanonicalBits", "Zh==", "non-canonical"}),
    [](const testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(Base64Test, DecodedSizeIsBounded) {
  absl::StatusOr<std::string> decoded = Base64Decode("Zm9vYmFy", 5);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(decoded.status().message(), HasSubstr("decodes to 6 bytes, over the limit of 5"));
  EXPECT_TRUE(Base64Decode("Zm9vYmFy", 6).ok());
}

}  // namespace
}  // namespace custody
