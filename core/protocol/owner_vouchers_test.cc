// The owner's voucher import on SQLite: what is taken, what is refused with which
// check, and that a refused batch stores nothing.

#include "core/protocol/owner_vouchers.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/base/fake_random.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::protocol {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

class OwnerVouchersTest : public testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    store_ = *storage::OpenSqliteStore(
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/owner-", ++counter, ".db"));
    for (const char* serial : {"SN-1", "SN-2"}) {
      voucher::SampleOptions options;
      options.now = kNow;
      options.owners = 2;
      options.serial = serial;
      sets_.push_back(std::make_unique<voucher::SampleVoucherSet>(
          *voucher::MakeSampleVoucherSet(options, random_)));
    }
  }

  // The owner of the final vouchers of both sets.
  std::vector<crypto::EcPublicKey> Keys() {
    return {sets_[0]->owner_keys.back().public_key(), sets_[1]->owner_keys.back().public_key()};
  }

  std::string Text(std::initializer_list<const v1::OwnershipVoucher*> vouchers) {
    std::string text = "From: seller@example.com\n\n";
    for (const v1::OwnershipVoucher* v : vouchers) text += voucher::VoucherToText(*v);
    return text;
  }

  std::string Dump() {
    std::string out;
    EXPECT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) -> absl::Status {
                      absl::StatusOr<storage::OwnedDevicePage> page =
                          tx.owned_devices().List("", 100);
                      if (!page.ok()) return page.status();
                      for (const auto& r : page->records)
                        absl::StrAppend(&out, HexEncode(r.guid), r.revision, "\n");
                      absl::StatusOr<std::vector<storage::AuditEvent>> audit =
                          tx.audit().List(0, 100);
                      if (!audit.ok()) return audit.status();
                      for (const auto& e : *audit)
                        absl::StrAppend(&out, e.action, " ", e.target, "\n");
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  // Makes the sample vouchers: certificate serials, device secrets and GUIDs.
  DeterministicRandom random_{31};
  std::unique_ptr<storage::Store> store_;
  std::vector<std::unique_ptr<voucher::SampleVoucherSet>> sets_;
};

TEST_F(OwnerVouchersTest, ImportsEveryVoucherOnceAndSchedulesItsRegistration) {
  const std::string text = Text({&sets_[0]->stages.back(), &sets_[1]->stages.back()});
  absl::StatusOr<ImportResult> result = ImportVouchers(*store_, Keys(), text, kNow, "admin:alice");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->imported, 2u);
  ASSERT_EQ(result->devices.size(), 2u);
  EXPECT_EQ(result->devices[0].serial, "SN-1");
  EXPECT_EQ(result->devices[1].serial, "SN-2");
  EXPECT_EQ(result->devices[0].state, storage::OwnedDeviceState::kImported);
  EXPECT_EQ(result->devices[0].next_registration_at, kNow);
  EXPECT_EQ(result->devices[0].voucher, sets_[0]->stages.back().SerializeAsString());
  const std::string after = Dump();
  EXPECT_THAT(after, HasSubstr("owner.voucher_import"));
  // The same text again changes nothing.
  result = ImportVouchers(*store_, Keys(), text, kNow + absl::Hours(1), "admin:alice");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->imported, 0u);
  EXPECT_EQ(result->devices.size(), 2u);
  EXPECT_EQ(Dump(), after);
}

TEST_F(OwnerVouchersTest, ABatchWithOneBadVoucherStoresNothing) {
  struct Case {
    std::string name;
    v1::OwnershipVoucher bad;
    std::vector<crypto::EcPublicKey> keys;
    absl::StatusCode code;
    std::string check;
  };
  v1::OwnershipVoucher tampered = sets_[1]->stages.back();
  tampered.mutable_entries(0)->back() ^= 0x01;
  std::vector<Case> cases = {
      {"addressed to another key",
       sets_[1]->stages.back(),
       {sets_[0]->owner_keys.back().public_key()},
       absl::StatusCode::kPermissionDenied,
       "owner.not_addressed"},
      {"unsigned", sets_[1]->stages[0], Keys(), absl::StatusCode::kUnauthenticated,
       "voucher.unsigned"},
      {"tampered entry", tampered, Keys(), absl::StatusCode::kUnauthenticated,
       "voucher.entry_signature"},
  };
  for (const Case& c : cases) {
    const std::string before = Dump();
    absl::StatusOr<ImportResult> result = ImportVouchers(
        *store_, c.keys, Text({&sets_[0]->stages.back(), &c.bad}), kNow, "admin:alice");
    EXPECT_EQ(result.status().code(), c.code) << c.name << ": " << result.status();
    EXPECT_EQ(FailedCheck(result.status()), c.check) << c.name << ": " << result.status();
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("voucher 2")) << c.name;
    EXPECT_EQ(Dump(), before) << c.name;
  }
  absl::StatusOr<ImportResult> garbage =
      ImportVouchers(*store_, Keys(), "no voucher here", kNow, "admin:alice");
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(OwnerVouchersTest, AnotherVoucherForAHeldGuidIsRefused) {
  // stages[1] hands the device to owner_keys[0]; stages[2] goes on to owner_keys[1].
  std::vector<crypto::EcPublicKey> keys = {sets_[0]->owner_keys[0].public_key(),
                                           sets_[0]->owner_keys[1].public_key()};
  ASSERT_TRUE(
      ImportVouchers(*store_, keys, Text({&sets_[0]->stages[1]}), kNow, "admin:alice").ok());
  const std::string before = Dump();
  absl::StatusOr<ImportResult> result =
      ImportVouchers(*store_, keys, Text({&sets_[0]->stages[2]}), kNow, "admin:alice");
  EXPECT_EQ(FailedCheck(result.status()), "owner.duplicate") << result.status();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Dump(), before);
}

}  // namespace
}  // namespace custody::protocol
