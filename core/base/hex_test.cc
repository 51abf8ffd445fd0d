#include "core/base/hex.h"

#include <cstddef>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace custody {
namespace {

TEST(HexEncodeTest, EncodesInLowerCase) {
  EXPECT_EQ(HexEncode(std::string("\x00\x01\x7f\x80\xab\xff", 6)), "00017f80abff");
  EXPECT_EQ(HexEncode("Custody"), "437573746f6479");
}

TEST(HexEncodeTest, EmptyInputGivesEmptyOutput) { EXPECT_EQ(HexEncode(""), ""); }

TEST(HexDecodeTest, EmptyInputGivesEmptyOutput) {
  absl::StatusOr<std::string> bytes = HexDecode("");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, "");
}

TEST(HexDecodeTest, DecodesLowerCase) {
  absl::StatusOr<std::string> bytes = HexDecode("00017f80abff");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, std::string("\x00\x01\x7f\x80\xab\xff", 6));
}

TEST(HexDecodeTest, DecodesUpperCase) {
  absl::StatusOr<std::string> bytes = HexDecode("DEADBEEF");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, "\xde\xad\xbe\xef");
}

TEST(HexDecodeTest, DecodesMixedCase) {
  absl::StatusOr<std::string> bytes = HexDecode("dEaDbEeF0aF9");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, std::string("\xde\xad\xbe\xef\x0a\xf9", 6));
}

TEST(HexTest, EveryByteValueRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string hex = HexEncode(all);
  ASSERT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  absl::StatusOr<std::string> decoded = HexDecode(hex);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, all);
}

TEST(HexTest, UpperCaseEncodingRoundTrips) {
  const std::string bytes("\x12\x34\xab\xcd\xef", 5);
  absl::StatusOr<std::string> decoded = HexDecode("1234ABCDEF");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, bytes);
  EXPECT_EQ(HexEncode(*decoded), "1234abcdef");
}

struct OddLengthCase {
  std::string hex;
  std::string message;
};

std::ostream& operator<<(std::ostream& out, const OddLengthCase& c) {
  return out << '"' << c.hex << '"';
}

class HexDecodeOddLengthTest : public ::testing::TestWithParam<OddLengthCase> {};

TEST_P(HexDecodeOddLengthTest, IsRejectedWithTheLength) {
  absl::StatusOr<std::string> bytes = HexDecode(GetParam().hex);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bytes.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Lengths, HexDecodeOddLengthTest,
    ::testing::Values(OddLengthCase{"a", "hex string has an odd length (1)"},
                      OddLengthCase{"abc", "hex string has an odd length (3)"},
                      OddLengthCase{"0123456789abcdef0", "hex string has an odd length (17)"},
                      // The length is checked before the characters.
                      OddLengthCase{"zzz", "hex string has an odd length (3)"}));

struct BadCharacterCase {
  std::string name;
  std::string hex;
  size_t position;
};

std::ostream& operator<<(std::ostream& out, const BadCharacterCase& c) { return out << c.name; }

class HexDecodeBadCharacterTest : public ::testing::TestWithParam<BadCharacterCase> {};

TEST_P(HexDecodeBadCharacterTest, NamesThePosition) {
  const BadCharacterCase& c = GetParam();
  absl::StatusOr<std::string> bytes = HexDecode(c.hex);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bytes.status().message(),
            "invalid hex character at position " + std::to_string(c.position));
}

INSTANTIATE_TEST_SUITE_P(
    Characters, HexDecodeBadCharacterTest,
    ::testing::Values(BadCharacterCase{"HighNibbleFirstPair", "zz00", 0},
                      BadCharacterCase{"LowNibbleFirstPair", "0z00", 1},
                      BadCharacterCase{"HighNibbleLaterPair", "00g0", 2},
                      BadCharacterCase{"LowNibbleLaterPair", "000G", 3},
                      BadCharacterCase{"LowNibbleLastPair", "abcdef0g", 7},
                      BadCharacterCase{"HighNibbleLastPair", "abcdefx0", 6},
                      // With both nibbles bad, the first is named.
                      BadCharacterCase{"BothNibblesBad", "00--", 2},
                      BadCharacterCase{"Space", "0 ", 1}, BadCharacterCase{"Prefix0x", "0x12", 1},
                      BadCharacterCase{"LetterJustPastF", "fg", 1},
                      BadCharacterCase{"UpperLetterJustPastF", "FG", 1},
                      BadCharacterCase{"CharacterBeforeZero", "/0", 0},
                      BadCharacterCase{"CharacterAfterNine", "0:", 1},
                      BadCharacterCase{"CharacterBeforeA", "@0", 0},
                      BadCharacterCase{"CharacterBeforeLowerA", "0`", 1},
                      BadCharacterCase{"EmbeddedNul", std::string("0\0", 2), 1},
                      BadCharacterCase{"HighBitByte",
                                       "ab\xff"
                                       "0",
                                       2}),
    [](const ::testing::TestParamInfo<BadCharacterCase>& info) { return info.param.name; });

}  // namespace
}  // namespace custody
