#include "core/base/byte_reader.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace custody {
namespace {

// Builds a byte string from integer values, so that inputs with NUL and high
// bytes are easy to read and free of hex-escape pitfalls.
std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(ByteReaderTest, FreshReaderStartsAtOffsetZero) {
  const std::string data = "abc";
  ByteReader reader(data);
  EXPECT_EQ(reader.offset(), 0u);
  EXPECT_EQ(reader.remaining(), 3u);
}

TEST(ByteReaderTest, ReadsEveryWidthInBigEndianOrder) {
  const std::string data = Bytes({0x01,                                            // u8
                                  0x02, 0x03,                                      // u16
                                  0x04, 0x05, 0x06, 0x07,                          // u32
                                  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,  // u64
                                  0x10});
  ByteReader reader(data);

  absl::StatusOr<uint8_t> u8 = reader.ReadU8("u8");
  ASSERT_TRUE(u8.ok()) << u8.status();
  EXPECT_EQ(*u8, 0x01);
  EXPECT_EQ(reader.offset(), 1u);

  absl::StatusOr<uint16_t> u16 = reader.ReadU16("u16");
  ASSERT_TRUE(u16.ok()) << u16.status();
  EXPECT_EQ(*u16, 0x0203);
  EXPECT_EQ(reader.offset(), 3u);

  absl::StatusOr<uint32_t> u32 = reader.ReadU32("u32");
  ASSERT_TRUE(u32.ok()) << u32.status();
  EXPECT_EQ(*u32, 0x04050607u);
  EXPECT_EQ(reader.offset(), 7u);

  absl::StatusOr<uint64_t> u64 = reader.ReadU64("u64");
  ASSERT_TRUE(u64.ok()) << u64.status();
  EXPECT_EQ(*u64, 0x08090a0b0c0d0e0fULL);
  EXPECT_EQ(reader.offset(), 15u);
  EXPECT_EQ(reader.remaining(), 1u);
}

// High bytes must not be sign-extended (the input is a sequence of `char`).
TEST(ByteReaderTest, HighBytesAreNotSignExtended) {
  const std::string data = Bytes(
      {0xff, 0x80, 0xff, 0xfe, 0xdc, 0xba, 0x98, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  ByteReader reader(data);
  absl::StatusOr<uint8_t> u8 = reader.ReadU8("u8");
  ASSERT_TRUE(u8.ok());
  EXPECT_EQ(*u8, 0xff);
  absl::StatusOr<uint16_t> u16 = reader.ReadU16("u16");
  ASSERT_TRUE(u16.ok());
  EXPECT_EQ(*u16, 0x80ff);
  absl::StatusOr<uint32_t> u32 = reader.ReadU32("u32");
  ASSERT_TRUE(u32.ok());
  EXPECT_EQ(*u32, 0xfedcba98u);
  absl::StatusOr<uint64_t> u64 = reader.ReadU64("u64");
  ASSERT_TRUE(u64.ok());
  EXPECT_EQ(*u64, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(reader.remaining(), 0u);
}

TEST(ByteReaderTest, ReadBytesReturnsAViewIntoTheInput) {
  const std::string data = "headerbody";
  ByteReader reader(data);
  absl::StatusOr<absl::string_view> header = reader.ReadBytes(6, "header");
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(*header, "header");
  EXPECT_EQ(header->data(), data.data());
  absl::StatusOr<absl::string_view> body = reader.ReadBytes(4, "body");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "body");
  EXPECT_EQ(body->data(), data.data() + 6);
  EXPECT_EQ(reader.offset(), 10u);
  EXPECT_TRUE(reader.ExpectEnd("message").ok());
}

TEST(ByteReaderTest, ZeroLengthReadsSucceedOnEmptyInput) {
  ByteReader reader(absl::string_view{});
  absl::StatusOr<absl::string_view> bytes = reader.ReadBytes(0, "nothing");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(bytes->empty());
  EXPECT_EQ(reader.offset(), 0u);
  EXPECT_EQ(reader.ReadRest(), "");
  EXPECT_EQ(reader.offset(), 0u);
  EXPECT_TRUE(reader.ExpectEnd("nothing").ok());
}

TEST(ByteReaderTest, ZeroLengthReadAtTheEndSucceeds) {
  const std::string data = "ab";
  ByteReader reader(data);
  ASSERT_TRUE(reader.ReadBytes(2, "all").ok());
  absl::StatusOr<absl::string_view> bytes = reader.ReadBytes(0, "nothing");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(bytes->empty());
  EXPECT_EQ(reader.offset(), 2u);
}

TEST(ByteReaderTest, ReadBytesOfAHugeLengthFailsWithoutOverflow) {
  const std::string data = "abc";
  ByteReader reader(data);
  ASSERT_TRUE(reader.ReadU8("first").ok());
  absl::StatusOr<absl::string_view> bytes =
      reader.ReadBytes(std::numeric_limits<size_t>::max(), "blob");
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bytes.status().message(),
            "truncated blob: need 18446744073709551615 bytes at offset 1, 2 left");
  EXPECT_EQ(reader.offset(), 1u);
}

TEST(ByteReaderTest, ReadRestReturnsEverythingLeftAndReachesTheEnd) {
  const std::string data = "xyz-rest";
  ByteReader reader(data);
  ASSERT_TRUE(reader.ReadBytes(4, "prefix").ok());
  const absl::string_view rest = reader.ReadRest();
  EXPECT_EQ(rest, "rest");
  EXPECT_EQ(rest.data(), data.data() + 4);
  EXPECT_EQ(reader.offset(), 8u);
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_TRUE(reader.ExpectEnd("message").ok());
  // A second ReadRest yields nothing more.
  EXPECT_EQ(reader.ReadRest(), "");
  EXPECT_EQ(reader.offset(), 8u);
}

TEST(ByteReaderTest, ExpectEndReportsTrailingBytes) {
  const std::string data = "abcde";
  ByteReader reader(data);
  ASSERT_TRUE(reader.ReadBytes(2, "prefix").ok());
  absl::Status status = reader.ExpectEnd("hello message");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "3 trailing bytes after hello message at offset 2");
  // ExpectEnd consumes nothing.
  EXPECT_EQ(reader.offset(), 2u);
  EXPECT_EQ(reader.remaining(), 3u);
}

TEST(ByteReaderTest, ExpectEndOnUnreadInputReportsEverything) {
  const std::string data = "z";
  ByteReader reader(data);
  absl::Status status = reader.ExpectEnd("msg");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "1 trailing bytes after msg at offset 0");
}

TEST(ByteReaderTest, CopyIsAnIndependentCursor) {
  const std::string data = Bytes({0x01, 0x02, 0x03});
  ByteReader reader(data);
  ASSERT_TRUE(reader.ReadU8("a").ok());
  ByteReader copy = reader;
  absl::StatusOr<uint16_t> from_copy = copy.ReadU16("b");
  ASSERT_TRUE(from_copy.ok());
  EXPECT_EQ(*from_copy, 0x0203);
  EXPECT_EQ(copy.offset(), 3u);
  EXPECT_EQ(reader.offset(), 1u);
  absl::StatusOr<uint8_t> from_original = reader.ReadU8("b");
  ASSERT_TRUE(from_original.ok());
  EXPECT_EQ(*from_original, 0x02);
}

// Every read type, when the input ends early, fails with INVALID_ARGUMENT, a
// message naming the field and offset, and consumes nothing.
struct TruncationCase {
  std::string name;
  // Input after one leading byte that the test consumes first, so that the
  // failing read starts at offset 1.
  std::string input;
  std::function<absl::Status(ByteReader&)> read;
  std::string message;
};

std::ostream& operator<<(std::ostream& out, const TruncationCase& c) { return out << c.name; }

class ByteReaderTruncationTest : public ::testing::TestWithParam<TruncationCase> {};

TEST_P(ByteReaderTruncationTest, FailsAndConsumesNothing) {
  const TruncationCase& c = GetParam();
  const std::string data = "!" + c.input;
  ByteReader reader(data);
  ASSERT_TRUE(reader.ReadU8("lead").ok());

  absl::Status status = c.read(reader);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), c.message);
  EXPECT_EQ(reader.offset(), 1u);
  EXPECT_EQ(reader.remaining(), c.input.size());
  // The cursor is still usable: the remaining bytes are intact.
  EXPECT_EQ(reader.ReadRest(), c.input);
}

INSTANTIATE_TEST_SUITE_P(
    AllReads, ByteReaderTruncationTest,
    ::testing::Values(
        TruncationCase{"U8", "", [](ByteReader& r) { return r.ReadU8("field").status(); },
                       "truncated field: need 1 bytes at offset 1, 0 left"},
        TruncationCase{"U16", Bytes({0x01}),
                       [](ByteReader& r) { return r.ReadU16("field").status(); },
                       "truncated field: need 2 bytes at offset 1, 1 left"},
        TruncationCase{"U32", Bytes({0x01, 0x02, 0x03}),
                       [](ByteReader& r) { return r.ReadU32("field").status(); },
                       "truncated field: need 4 bytes at offset 1, 3 left"},
        TruncationCase{"U64", Bytes({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07}),
                       [](ByteReader& r) { return r.ReadU64("field").status(); },
                       "truncated field: need 8 bytes at offset 1, 7 left"},
        TruncationCase{"U64OnEmpty", "", [](ByteReader& r) { return r.ReadU64("field").status(); },
                       "truncated field: need 8 bytes at offset 1, 0 left"},
        TruncationCase{"Bytes", "abc",
                       [](ByteReader& r) { return r.ReadBytes(4, "field").status(); },
                       "truncated field: need 4 bytes at offset 1, 3 left"},
        TruncationCase{"LengthPrefix8MissingPrefix", "",
                       [](ByteReader& r) { return r.ReadLengthPrefixed8(100, "field").status(); },
                       "truncated field length: need 1 bytes at offset 1, 0 left"},
        TruncationCase{"LengthPrefix16ShortPrefix", Bytes({0x00}),
                       [](ByteReader& r) { return r.ReadLengthPrefixed16(100, "field").status(); },
                       "truncated field length: need 2 bytes at offset 1, 1 left"},
        TruncationCase{"LengthPrefix32ShortPrefix", Bytes({0x00, 0x00, 0x00}),
                       [](ByteReader& r) { return r.ReadLengthPrefixed32(100, "field").status(); },
                       "truncated field length: need 4 bytes at offset 1, 3 left"},
        TruncationCase{"LengthPrefix8Body", Bytes({0x03, 'a', 'b'}),
                       [](ByteReader& r) { return r.ReadLengthPrefixed8(100, "field").status(); },
                       "truncated field: length prefix at offset 1 says 3 bytes, 2 left"},
        TruncationCase{"LengthPrefix16Body", Bytes({0x00, 0x03, 'a', 'b'}),
                       [](ByteReader& r) { return r.ReadLengthPrefixed16(100, "field").status(); },
                       "truncated field: length prefix at offset 1 says 3 bytes, 2 left"},
        TruncationCase{"LengthPrefix16BodyEmpty", Bytes({0x01, 0x00}),
                       [](ByteReader& r) { return r.ReadLengthPrefixed16(1000, "field").status(); },
                       "truncated field: length prefix at offset 1 says 256 bytes, 0 left"},
        TruncationCase{"LengthPrefix32Body", Bytes({0x00, 0x00, 0x00, 0x05, 'a', 'b', 'c', 'd'}),
                       [](ByteReader& r) { return r.ReadLengthPrefixed32(100, "field").status(); },
                       "truncated field: length prefix at offset 1 says 5 bytes, 4 left"},
        TruncationCase{
            "LengthPrefix32MaxLengthBody", Bytes({0xff, 0xff, 0xff, 0xff, 'a'}),
            [](ByteReader& r) {
              return r.ReadLengthPrefixed32(std::numeric_limits<size_t>::max(), "field").status();
            },
            "truncated field: length prefix at offset 1 says 4294967295 bytes, "
            "1 left"}),
    [](const ::testing::TestParamInfo<TruncationCase>& info) { return info.param.name; });

// A length prefix over the caller's limit fails with RESOURCE_EXHAUSTED before
// the body is examined, and consumes nothing (not even the prefix).
struct LimitCase {
  std::string name;
  std::string input;
  std::function<absl::StatusOr<absl::string_view>(ByteReader&)> read;
  std::string message;
};

std::ostream& operator<<(std::ostream& out, const LimitCase& c) { return out << c.name; }

class ByteReaderLimitTest : public ::testing::TestWithParam<LimitCase> {};

TEST_P(ByteReaderLimitTest, ExceedingTheLimitConsumesNothing) {
  const LimitCase& c = GetParam();
  const std::string data = "!" + c.input;
  ByteReader reader(data);
  ASSERT_TRUE(reader.ReadU8("lead").ok());

  absl::StatusOr<absl::string_view> result = c.read(reader);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.status().message(), c.message);
  EXPECT_EQ(reader.offset(), 1u);
  EXPECT_EQ(reader.remaining(), c.input.size());
}

INSTANTIATE_TEST_SUITE_P(
    AllWidths, ByteReaderLimitTest,
    ::testing::Values(
        LimitCase{"LengthPrefix8", Bytes({0x05, 'h', 'e', 'l', 'l', 'o'}),
                  [](ByteReader& r) { return r.ReadLengthPrefixed8(4, "name"); },
                  "name length 5 exceeds the limit of 4 bytes (offset 1)"},
        LimitCase{"LengthPrefix8ZeroLimit", Bytes({0x01, 'x'}),
                  [](ByteReader& r) { return r.ReadLengthPrefixed8(0, "name"); },
                  "name length 1 exceeds the limit of 0 bytes (offset 1)"},
        LimitCase{"LengthPrefix16", Bytes({0x01, 0x00}) + std::string(256, 'x'),
                  [](ByteReader& r) { return r.ReadLengthPrefixed16(255, "cert"); },
                  "cert length 256 exceeds the limit of 255 bytes (offset 1)"},
        LimitCase{"LengthPrefix32", Bytes({0x00, 0x01, 0x00, 0x00}),
                  [](ByteReader& r) { return r.ReadLengthPrefixed32(65535, "chain"); },
                  "chain length 65536 exceeds the limit of 65535 bytes (offset 1)"},
        // The limit is checked before the body: a huge, truncated length is a
        // limit error, not a truncation error.
        LimitCase{"LengthPrefix32HugeAndTruncated", Bytes({0xff, 0xff, 0xff, 0xff}),
                  [](ByteReader& r) { return r.ReadLengthPrefixed32(1024, "chain"); },
                  "chain length 4294967295 exceeds the limit of 1024 bytes (offset 1)"}),
    [](const ::testing::TestParamInfo<LimitCase>& info) { return info.param.name; });

struct LengthPrefixedCase {
  std::string name;
  std::string input;
  std::function<absl::StatusOr<absl::string_view>(ByteReader&)> read;
  std::string expected;
  size_t expected_offset;
};

std::ostream& operator<<(std::ostream& out, const LengthPrefixedCase& c) { return out << c.name; }

class ByteReaderLengthPrefixedTest : public ::testing::TestWithParam<LengthPrefixedCase> {};

TEST_P(ByteReaderLengthPrefixedTest, ReadsTheBodyAndLeavesTheRest) {
  const LengthPrefixedCase& c = GetParam();
  const std::string data = c.input + "tail";
  ByteReader reader(data);
  absl::StatusOr<absl::string_view> body = c.read(reader);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, c.expected);
  EXPECT_EQ(reader.offset(), c.expected_offset);
  EXPECT_EQ(reader.ReadRest(), "tail");
}

INSTANTIATE_TEST_SUITE_P(
    AllWidths, ByteReaderLengthPrefixedTest,
    ::testing::Values(
        LengthPrefixedCase{"LengthPrefix8", Bytes({0x03, 'a', 'b', 'c'}),
                           [](ByteReader& r) { return r.ReadLengthPrefixed8(10, "f"); }, "abc", 4},
        LengthPrefixedCase{"LengthPrefix8AtLimit", Bytes({0x03, 'a', 'b', 'c'}),
                           [](ByteReader& r) { return r.ReadLengthPrefixed8(3, "f"); }, "abc", 4},
        LengthPrefixedCase{"LengthPrefix8Empty", Bytes({0x00}),
                           [](ByteReader& r) { return r.ReadLengthPrefixed8(0, "f"); }, "", 1},
        LengthPrefixedCase{"LengthPrefix16", Bytes({0x00, 0x02, 'h', 'i'}),
                           [](ByteReader& r) { return r.ReadLengthPrefixed16(2, "f"); }, "hi", 4},
        LengthPrefixedCase{"LengthPrefix16Long", Bytes({0x01, 0x00}) + std::string(256, 'q'),
                           [](ByteReader& r) { return r.ReadLengthPrefixed16(256, "f"); },
                           std::string(256, 'q'), 258},
        LengthPrefixedCase{"LengthPrefix16Empty", Bytes({0x00, 0x00}),
                           [](ByteReader& r) { return r.ReadLengthPrefixed16(0, "f"); }, "", 2},
        LengthPrefixedCase{"LengthPrefix32", Bytes({0x00, 0x00, 0x00, 0x04, 'd', 'a', 't', 'a'}),
                           [](ByteReader& r) { return r.ReadLengthPrefixed32(4, "f"); }, "data", 8},
        LengthPrefixedCase{"LengthPrefix32Empty", Bytes({0x00, 0x00, 0x00, 0x00}),
                           [](ByteReader& r) { return r.ReadLengthPrefixed32(0, "f"); }, "", 4}),
    [](const ::testing::TestParamInfo<LengthPrefixedCase>& info) { return info.param.name; });

TEST(ByteReaderTest, LengthPrefixedBodyIsAViewIntoTheInput) {
  const std::string data = Bytes({0x02, 'o', 'k'});
  ByteReader reader(data);
  absl::StatusOr<absl::string_view> body = reader.ReadLengthPrefixed8(2, "f");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->data(), data.data() + 1);
}

TEST(ParseAllTest, SucceedsWhenTheParserConsumesEverything) {
  const std::string data = Bytes({0x00, 0x2a, 0x02, 'h', 'i'});
  uint16_t number = 0;
  std::string name;
  absl::Status status = ParseAll(data, "record", [&](ByteReader& r) -> absl::Status {
    absl::StatusOr<uint16_t> n = r.ReadU16("number");
    if (!n.ok()) return n.status();
    number = *n;
    absl::StatusOr<absl::string_view> s = r.ReadLengthPrefixed8(16, "name");
    if (!s.ok()) return s.status();
    name = std::string(*s);
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(number, 42);
  EXPECT_EQ(name, "hi");
}

TEST(ParseAllTest, SucceedsOnEmptyInputWithANoOpParser) {
  int calls = 0;
  absl::Status status = ParseAll("", "empty", [&](ByteReader& r) {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(calls, 1);
}

TEST(ParseAllTest, RejectsTrailingBytes) {
  const std::string data = Bytes({0x00, 0x2a, 0xff});
  absl::Status status =
      ParseAll(data, "record", [](ByteReader& r) { return r.ReadU16("number").status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "1 trailing bytes after record at offset 2");
}

TEST(ParseAllTest, ReturnsTheParserErrorUnchanged) {
  // The parser's error wins over the trailing-bytes check.
  const std::string data = Bytes({0x09, 'a', 'b', 'c'});
  absl::Status status = ParseAll(
      data, "record", [](ByteReader& r) { return r.ReadLengthPrefixed8(4, "name").status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "name length 9 exceeds the limit of 4 bytes (offset 0)");
}

TEST(ParseAllTest, ReturnsACustomParserErrorUnchanged) {
  absl::Status status = ParseAll(
      "abc", "record", [](ByteReader& r) { return absl::UnauthenticatedError("bad tag"); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "bad tag");
}

TEST(ParseAllTest, ReportsTruncationFromTheParser) {
  absl::Status status = ParseAll(Bytes({0x01}), "record",
                                 [](ByteReader& r) { return r.ReadU32("version").status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "truncated version: need 4 bytes at offset 0, 1 left");
}

}  // namespace
}  // namespace custody
