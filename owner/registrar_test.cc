// Automatic TO0's schedule on SQLite, with a fake clock and a scripted
// rendezvous answer (the real exchange is covered end to end in
// integration/owner_e2e_test and owner_fault_test): what is registered and
// when, how failures back off, and that TO2's writes win over a pass's.

#include "owner/registrar.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/fake_clock.h"
#include "core/base/fake_random.h"
#include "core/base/random.h"
#include "core/protocol/owner_vouchers.h"
#include "core/protocol/rendezvous_format.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::owner {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

class RegistrarTest : public testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    store_ = *storage::OpenSqliteStore(
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/registrar-", ++counter, ".db"));
    voucher::SampleOptions options;
    options.now = kNow;
    options.owners = 1;
    options.rendezvous_host = "rv.example";
    options.rendezvous_port = 8041;
    set_ = std::make_unique<voucher::SampleVoucherSet>(
        *voucher::MakeSampleVoucherSet(options, SystemRandom()));
    guid_ = GuidOf(set_->stages.back());
    absl::StatusOr<protocol::ImportResult> imported =
        protocol::ImportVouchers(*store_, {set_->owner_keys.back().public_key()},
                                 voucher::VoucherToText(set_->stages.back()), kNow, "test");
    ASSERT_TRUE(imported.ok()) << imported.status();
  }

  static std::string GuidOf(const v1::OwnershipVoucher& voucher) {
    v1::VoucherHeader header;
    header.ParseFromString(voucher.header());
    return header.guid().value();
  }

  std::unique_ptr<Registrar> Make(RegistrarOptions options = RegistrarOptions()) {
    options.addresses = {protocol::GrpcTlsAddress("owner.example", 8043)};
    return std::make_unique<Registrar>(
        *store_, clock_, random_, std::vector<const crypto::Signer*>{&set_->owner_keys.back()},
        options,
        [this](const std::string& target, protocol::To0Registration registration,
               const crypto::Signer& key) -> absl::StatusOr<v1::To0AcceptOwner> {
          targets_.push_back(target);
          EXPECT_EQ(registration.addresses.size(), 1u);
          EXPECT_TRUE(crypto::SameKey(key.public_key(), set_->owner_keys.back().public_key()));
          if (!answer_.ok()) return answer_;
          v1::To0AcceptOwner accepted;
          accepted.set_granted_lifetime_seconds(static_cast<uint32_t>(
              std::min(absl::ToInt64Seconds(registration.lifetime), granted_cap_)));
          return accepted;
        });
  }

  storage::OwnedDeviceRecord Record() {
    storage::OwnedDeviceRecord record;
    EXPECT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) -> absl::Status {
                      absl::StatusOr<storage::OwnedDeviceRecord> got =
                          tx.owned_devices().Get(guid_);
                      if (!got.ok()) return got.status();
                      record = *got;
                      return absl::OkStatus();
                    })
                    .ok());
    return record;
  }

  FakeClock clock_{kNow};
  DeterministicRandom random_{7};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<voucher::SampleVoucherSet> set_;
  std::string guid_;
  std::vector<std::string> targets_;
  absl::Status answer_;
  int64_t granted_cap_ = 3600;
};

TEST_F(RegistrarTest, RegistersAnImportedVoucherAtItsRendezvousServiceAndRenewsBeforeExpiry) {
  RegistrarOptions options;
  options.lifetime = absl::Hours(24);
  auto registrar = Make(options);
  absl::StatusOr<RegistrarPass> pass = registrar->RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ(pass->registered, 1);
  EXPECT_THAT(targets_, testing::ElementsAre("rv.example:8041"));
  storage::OwnedDeviceRecord record = Record();
  EXPECT_EQ(record.state, storage::OwnedDeviceState::kRegistered);
  // The service capped the lifetime at an hour: renewed after 45 minutes.
  EXPECT_EQ(record.registered_until, kNow + absl::Hours(1));
  EXPECT_EQ(record.next_registration_at, kNow + absl::Minutes(45));
  EXPECT_TRUE(record.last_error.empty());

  // Nothing is due before then.
  clock_.Advance(absl::Minutes(44));
  EXPECT_EQ(registrar->RunOnce()->registered, 0);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(registrar->RunOnce()->registered, 1);
  EXPECT_EQ(Record().registered_until, kNow + absl::Minutes(45) + absl::Hours(1));
  EXPECT_EQ(targets_.size(), 2u);
}

TEST_F(RegistrarTest, AFailureIsRecordedAndRetriedWithAGrowingJitteredBackoff) {
  RegistrarOptions options;
  options.retry_initial = absl::Seconds(10);
  options.retry_max = absl::Seconds(60);
  auto registrar = Make(options);
  answer_ = absl::UnavailableError("connection refused");
  absl::Duration previous_wait = absl::ZeroDuration();
  for (int failure = 1; failure <= 5; ++failure) {
    absl::StatusOr<RegistrarPass> pass = registrar->RunOnce();
    ASSERT_TRUE(pass.ok()) << pass.status();
    EXPECT_EQ(pass->failed, 1);
    storage::OwnedDeviceRecord record = Record();
    EXPECT_EQ(record.state, storage::OwnedDeviceState::kImported);
    EXPECT_EQ(record.registration_failures, failure);
    EXPECT_THAT(record.last_error, HasSubstr("rv.example:8041: connection refused"));
    const absl::Duration wait = record.next_registration_at - clock_.Now();
    // Half to all of min(10 s * 2^(failure-1), 60 s).
    const absl::Duration ceiling =
        std::min(absl::Seconds(10) * (1 << (failure - 1)), absl::Seconds(60));
    EXPECT_GE(wait, ceiling / 2) << failure;
    EXPECT_LE(wait, ceiling) << failure;
    if (failure <= 3) {
      EXPECT_GT(wait, previous_wait / 2);
    }
    previous_wait = wait;
    // Not due again before the wait is over.
    EXPECT_EQ(registrar->RunOnce()->failed, 0);
    clock_.Advance(wait);
  }
  // The service is back: registered, and the failure count is reset.
  answer_ = absl::OkStatus();
  EXPECT_EQ(registrar->RunOnce()->registered, 1);
  storage::OwnedDeviceRecord record = Record();
  EXPECT_EQ(record.state, storage::OwnedDeviceState::kRegistered);
  EXPECT_EQ(record.registration_failures, 0);
  EXPECT_TRUE(record.last_error.empty());
}

TEST_F(RegistrarTest, AnOnboardedDeviceIsNotRegisteredAgain) {
  storage::OwnedDeviceRecord record = Record();
  record.state = storage::OwnedDeviceState::kOnboarded;
  record.onboarded_at = kNow;
  ASSERT_TRUE(store_
                  ->Transact([&](storage::Transaction& tx) {
                    return tx.owned_devices().Update(record).status();
                  })
                  .ok());
  auto registrar = Make();
  EXPECT_EQ(registrar->RunOnce()->registered, 0);
  EXPECT_TRUE(targets_.empty());
}

TEST_F(RegistrarTest, ATo2CommitDuringThePassWins) {
  auto registrar = Make();
  // The "rendezvous service" answers after TO2 has onboarded the device.
  auto onboarding = [this] {
    storage::OwnedDeviceRecord record = Record();
    record.state = storage::OwnedDeviceState::kOnboarded;
    record.onboarded_at = kNow;
    ASSERT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) {
                      return tx.owned_devices().Update(record).status();
                    })
                    .ok());
  };
  Registrar racing(*store_, clock_, random_, {&set_->owner_keys.back()},
                   RegistrarOptions{{protocol::GrpcTlsAddress("owner.example", 8043)}},
                   [&](const std::string&, protocol::To0Registration,
                       const crypto::Signer&) -> absl::StatusOr<v1::To0AcceptOwner> {
                     onboarding();
                     v1::To0AcceptOwner accepted;
                     accepted.set_granted_lifetime_seconds(3600);
                     return accepted;
                   });
  absl::StatusOr<RegistrarPass> pass = racing.RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ(Record().state, storage::OwnedDeviceState::kOnboarded);
}

TEST_F(RegistrarTest, AVoucherOfAnotherOwnerKeyIsRecordedAsAFailure) {
  crypto::EcPrivateKey other = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  Registrar registrar(*store_, clock_, random_, {&other},
                      RegistrarOptions{{protocol::GrpcTlsAddress("owner.example", 8043)}},
                      [&](const std::string&, protocol::To0Registration,
                          const crypto::Signer&) -> absl::StatusOr<v1::To0AcceptOwner> {
                        ADD_FAILURE() << "nothing may be sent";
                        return v1::To0AcceptOwner();
                      });
  EXPECT_EQ(registrar.RunOnce()->failed, 1);
  EXPECT_THAT(Record().last_error, HasSubstr("not one of this owner's keys"));
}

}  // namespace
}  // namespace custody::owner
