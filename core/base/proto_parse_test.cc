#include "core/base/proto_parse.h"

#include <string>

#include "absl/status/status.h"
#include "custody/v1/common.pb.h"
#include "custody/v1/voucher.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody {
namespace {

using ::testing::HasSubstr;

TEST(ParseStrictTest, ParsesAKnownMessage) {
  v1::PublicKey key;
  key.set_curve(v1::CURVE_P256);
  key.set_spki_der("der");
  v1::PublicKey parsed;
  ASSERT_TRUE(ParseStrict(key.SerializeAsString(), 100, "key", &parsed).ok());
  EXPECT_EQ(parsed.spki_der(), "der");
}

TEST(ParseStrictTest, RefusesOversizedInputBeforeParsing) {
  v1::Guid guid;
  const absl::Status status = ParseStrict(std::string(101, '\0'), 100, "guid", &guid);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "guid of 101 bytes exceeds the limit of 100");
}

TEST(ParseStrictTest, RefusesMalformedBytes) {
  v1::Guid guid;
  const absl::Status status = ParseStrict(
      "\x0a\x05"
      "ab",
      100, "guid", &guid);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "guid is not a valid custody.v1.Guid");
}

TEST(ParseStrictTest, RefusesUnknownFieldsAtTopLevel) {
  v1::Guid guid;
  // Field 1 (value) and an unknown field 9 (varint 1).
  const std::string bytes("\x0a\x01X\x48\x01", 5);
  const absl::Status status = ParseStrict(bytes, 100, "guid", &guid);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "guid has unknown fields");
}

TEST(ParseStrictTest, RefusesUnknownFieldsInsideNestedMessages) {
  v1::VoucherHeader header;
  header.set_protocol_version(1);
  // A Guid with an unknown field 9, then the same inside a repeated message.
  const std::string guid_bytes = std::string("\x0a\x01X", 3) + std::string("\x48\x01", 2);
  const std::string bytes = header.SerializeAsString() + "\x12" +
                            std::string(1, static_cast<char>(guid_bytes.size())) + guid_bytes;
  v1::VoucherHeader parsed;
  const absl::Status status = ParseStrict(bytes, 1000, "header", &parsed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "header.guid has unknown fields");

  v1::RendezvousInfo info;
  info.add_endpoints()->set_host("a");
  const std::string endpoint = info.endpoints(0).SerializeAsString() + std::string("\x48\x01", 2);
  const std::string info_bytes = info.SerializeAsString() + "\x0a" +
                                 std::string(1, static_cast<char>(endpoint.size())) + endpoint;
  v1::RendezvousInfo parsed_info;
  EXPECT_EQ(ParseStrict(info_bytes, 1000, "rendezvous", &parsed_info).message(),
            "rendezvous.endpoints[1] has unknown fields");
}

}  // namespace
}  // namespace custody
