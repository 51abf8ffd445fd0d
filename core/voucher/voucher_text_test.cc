#include "core/voucher/voucher_text.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/base64.h"
#include "core/base/fake_random.h"
#include "core/base/status.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::voucher {
namespace {

using ::testing::HasSubstr;

const v1::OwnershipVoucher& Sample(int owners) {
  static std::vector<v1::OwnershipVoucher>* stages = [] {
    DeterministicRandom random(8);
    SampleOptions options;
    options.now = absl::FromUnixSeconds(1790000000);
    options.owners = 2;
    auto set = MakeSampleVoucherSet(options, random);
    if (!set.ok()) std::abort();
    return new std::vector<v1::OwnershipVoucher>(set->stages);
  }();
  return (*stages)[owners];
}

TEST(VoucherTextTest, RoundTripWithArmourAndShortLines) {
  const std::string text = VoucherToText(Sample(2));
  EXPECT_EQ(text.substr(0, kVoucherPemBegin.size() + 1), absl::StrCat(kVoucherPemBegin, "\n"));
  EXPECT_EQ(text.substr(text.size() - kVoucherPemEnd.size() - 1),
            absl::StrCat(kVoucherPemEnd, "\n"));
  const std::string second_line = text.substr(kVoucherPemBegin.size() + 1, 65);
  EXPECT_EQ(second_line.back(), '\n');
  absl::StatusOr<v1::OwnershipVoucher> parsed = VoucherFromText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), Sample(2).SerializeAsString());
}

TEST(VoucherTextTest, ToleratesSurroundingTextAndReadsSeveralBlocks) {
  const std::string mail =
      absl::StrCat("Hello,\r\nhere are your vouchers:\r\n\r\n", VoucherToText(Sample(1)),
                   "-----BEGIN PUBLIC KEY-----\nnot ours\n-----END PUBLIC KEY-----\n", "  ",
                   VoucherToText(Sample(2)), "\nRegards\n");
  absl::StatusOr<std::vector<v1::OwnershipVoucher>> vouchers = VouchersFromText(mail, 10);
  ASSERT_TRUE(vouchers.ok()) << vouchers.status();
  ASSERT_EQ(vouchers->size(), 2u);
  EXPECT_EQ((*vouchers)[0].entries_size(), 1);
  EXPECT_EQ((*vouchers)[1].entries_size(), 2);
  // CRLF line ends inside the block are fine too.
  std::string crlf = VoucherToText(Sample(0));
  for (size_t at = crlf.find('\n'); at != std::string::npos; at = crlf.find('\n', at + 2)) {
    crlf.insert(at, "\r");
  }
  EXPECT_TRUE(VoucherFromText(crlf).ok());
}

struct BadTextCase {
  std::string name;
  std::string (*make)(const std::string& good);
  absl::StatusCode code;
  std::string message;
};

class VoucherTextBadTest : public testing::TestWithParam<BadTextCase> {};

TEST_P(VoucherTextBadTest, IsRefusedNamingTheBlock) {
  absl::StatusOr<std::vector<v1::OwnershipVoucher>> vouchers =
      VouchersFromText(GetParam().make(VoucherToText(Sample(2))), 3);
  EXPECT_EQ(vouchers.status().code(), GetParam().code) << vouchers.status();
  EXPECT_EQ(FailedCheck(vouchers.status()), "voucher.text");
  EXPECT_THAT(std::string(vouchers.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    All, VoucherTextBadTest,
    testing::Values(
        BadTextCase{"Empty", [](const std::string&) { return std::string(); },
                    absl::StatusCode::kInvalidArgument, "no \"-----BEGIN CUSTODY"},
        BadTextCase{"NoBlock", [](const std::string&) { return std::string("just text\n"); },
                    absl::StatusCode::kInvalidArgument, "block found"},
        BadTextCase{"TruncatedNoEnd",
                    [](const std::string& t) { return t.substr(0, t.size() / 2); },
                    absl::StatusCode::kInvalidArgument, "voucher block 1: no END line"},
        BadTextCase{"TruncatedBody",
                    [](const std::string& t) {
                      // One base64 character lost from the first line of the body.
                      std::string s = t;
                      s.erase(kVoucherPemBegin.size() + 5, 1);
                      return s;
                    },
                    absl::StatusCode::kInvalidArgument, "voucher block 1: base64 length"},
        BadTextCase{"GarbageInBody",
                    [](const std::string& t) {
                      std::string s = t;
                      s[kVoucherPemBegin.size() + 10] = '*';
                      return s;
                    },
                    absl::StatusCode::kInvalidArgument, "invalid base64 character"},
        BadTextCase{"TrailingGarbageInVoucherBytes",
                    [](const std::string&) {
                      // Valid base64 of a voucher followed by stray bytes.
                      v1::OwnershipVoucher v = Sample(2);
                      std::string bytes = v.SerializeAsString() + "\xff\xff";
                      return absl::StrCat(kVoucherPemBegin, "\n", Base64Encode(bytes, 64),
                                          kVoucherPemEnd, "\n");
                    },
                    absl::StatusCode::kInvalidArgument, "voucher block 1: voucher.format"},
        BadTextCase{"SecondBlockBroken",
                    [](const std::string& t) { return t + t.substr(0, t.size() - 5); },
                    absl::StatusCode::kInvalidArgument, "voucher block 2: no END line"},
        BadTextCase{"NestedBegin",
                    [](const std::string& t) { return absl::StrCat(kVoucherPemBegin, "\n", t); },
                    absl::StatusCode::kInvalidArgument, "BEGIN line inside the block"},
        BadTextCase{"TooManyBlocks", [](const std::string& t) { return t + t + t + t; },
                    absl::StatusCode::kResourceExhausted, "more than 3 voucher blocks"}),
    [](const testing::TestParamInfo<BadTextCase>& info) { return info.param.name; });

TEST(VoucherTextTest, SingleVoucherReaderRefusesSeveral) {
  const std::string two = VoucherToText(Sample(1)) + VoucherToText(Sample(2));
  for (const std::string& text : {two, two + VoucherToText(Sample(0))}) {
    absl::StatusOr<v1::OwnershipVoucher> read = VoucherFromText(text);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(read.status().message()), HasSubstr("expected one voucher block"));
  }
}

TEST(VoucherTextTest, OverLimitBlockKeepsTheLimitCode) {
  // A block whose voucher has too many entries is a limit, not a format error.
  v1::OwnershipVoucher big = Sample(2);
  for (size_t i = 0; i < kMaxEntries; ++i) big.add_entries("x");
  absl::StatusOr<v1::OwnershipVoucher> read = VoucherFromText(VoucherToText(big));
  EXPECT_EQ(read.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("voucher block 1: voucher.format"));
}

}  // namespace
}  // namespace custody::voucher
