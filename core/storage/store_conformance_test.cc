// One conformance suite over every Store implementation: each backend must give
// the same answers, codes and atomicity.

#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/storage/audit_chain.h"
#include "core/storage/memory_store.h"
#include "core/storage/sqlite_store.h"
#include "core/storage/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::storage {
namespace {

using ::testing::HasSubstr;

struct Backend {
  std::string name;
  std::unique_ptr<Store> (*open)(const std::string& dir);
};

std::unique_ptr<Store> OpenMemory(const std::string&) { return NewMemoryStore(); }

std::unique_ptr<Store> OpenSqlite(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir + "/store.db");
  if (!store.ok()) {
    ADD_FAILURE() << store.status();
    return nullptr;
  }
  return *std::move(store);
}

const absl::Time kT0 = absl::FromUnixMicros(1790000000123456);

VoucherRecord Record(int i) {
  VoucherRecord record;
  record.guid = std::string(15, '\x01') + static_cast<char>(i);
  record.model = "gw-100";
  record.serial = absl::StrCat("SN-", i);
  record.voucher = std::string("\x00voucher\xff", 9) + std::to_string(i);
  record.state = VoucherState::kManufactured;
  record.created_at = kT0 + absl::Seconds(i);
  record.updated_at = record.created_at;
  return record;
}

AuditEvent Event(const std::string& action) {
  AuditEvent event;
  event.time = kT0;
  event.actor = "admin:alice (operator)";
  event.action = action;
  event.target = "0101";
  event.details = "details";
  return event;
}

class StoreConformanceTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", GetParam().name, ++counter);
    ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
    store_ = GetParam().open(dir_);
    ASSERT_NE(store_, nullptr);
  }

  absl::Status Insert(const VoucherRecord& record) {
    return store_->Transact([&](Transaction& tx) { return tx.vouchers().Insert(record); });
  }

  absl::StatusOr<VoucherRecord> Get(const std::string& guid) {
    absl::StatusOr<VoucherRecord> out = absl::InternalError("not run");
    absl::Status status = store_->Transact([&](Transaction& tx) {
      out = tx.vouchers().Get(guid);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return out;
  }

  int64_t Count() {
    int64_t count = -1;
    EXPECT_TRUE(store_
                    ->Transact([&](Transaction& tx) -> absl::Status {
                      absl::StatusOr<int64_t> n = tx.vouchers().Count();
                      if (!n.ok()) return n.status();
                      count = *n;
                      return absl::OkStatus();
                    })
                    .ok());
    return count;
  }

  // The model's declaration in force, read in its own transaction.
  absl::StatusOr<SupportDeclarationRecord> CurrentSupport(const std::string& model) {
    absl::StatusOr<SupportDeclarationRecord> current = absl::InternalError("not run");
    absl::Status status = store_->Transact([&](Transaction& tx) {
      current = tx.support().Current(model);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return current;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, InsertThenGetReturnsExactValues) {
  ASSERT_TRUE(Insert(Record(1)).ok());
  absl::StatusOr<VoucherRecord> got = Get(Record(1).guid);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->guid, Record(1).guid);
  EXPECT_EQ(got->model, "gw-100");
  EXPECT_EQ(got->serial, "SN-1");
  EXPECT_EQ(got->voucher, Record(1).voucher);  // Binary, with NUL and 0xff.
  EXPECT_EQ(got->state, VoucherState::kManufactured);
  EXPECT_EQ(got->created_at, Record(1).created_at);  // Microsecond precision.
  EXPECT_EQ(got->revision, 1);
  absl::StatusOr<VoucherRecord> by_serial = absl::InternalError("not run");
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) {
                    by_serial = tx.vouchers().GetBySerial("gw-100", "SN-1");
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(by_serial.ok());
  EXPECT_EQ(by_serial->guid, Record(1).guid);
}

TEST_P(StoreConformanceTest, UnknownKeysAreNotFound) {
  EXPECT_EQ(Get("nope").status().code(), absl::StatusCode::kNotFound);
  absl::Status status = store_->Transact(
      [&](Transaction& tx) { return tx.vouchers().GetBySerial("gw-100", "SN-404").status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, DuplicatesAreRefusedAndChangeNothing) {
  ASSERT_TRUE(Insert(Record(1)).ok());
  VoucherRecord same_guid = Record(2);
  same_guid.guid = Record(1).guid;
  absl::Status guid_taken = Insert(same_guid);
  EXPECT_EQ(guid_taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(guid_taken.message()), HasSubstr("GUID is already stored"));
  VoucherRecord same_serial = Record(2);
  same_serial.serial = "SN-1";
  absl::Status serial_taken = Insert(same_serial);
  EXPECT_EQ(serial_taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(serial_taken.message()),
              HasSubstr("model \"gw-100\" serial \"SN-1\" is already stored"));
  EXPECT_EQ(Count(), 1);
  EXPECT_EQ(Get(Record(1).guid)->voucher, Record(1).voucher);
  // The same serial under another model is a different device.
  VoucherRecord other_model = Record(2);
  other_model.serial = "SN-1";
  other_model.model = "gw-200";
  EXPECT_TRUE(Insert(other_model).ok());
}

TEST_P(StoreConformanceTest, UpdateNeedsTheCurrentRevision) {
  ASSERT_TRUE(Insert(Record(1)).ok());
  VoucherRecord update = *Get(Record(1).guid);
  update.voucher = "extended";
  update.state = VoucherState::kTransferred;
  update.updated_at = kT0 + absl::Hours(1);
  absl::StatusOr<int64_t> revision = absl::InternalError("not run");
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) {
                    revision = tx.vouchers().Update(update);
                    return revision.status();
                  })
                  .ok());
  EXPECT_EQ(*revision, 2);
  // A second writer still holding revision 1 loses.
  update.voucher = "stale";
  absl::Status stale =
      store_->Transact([&](Transaction& tx) { return tx.vouchers().Update(update).status(); });
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(stale.message()), HasSubstr("revision 2, expected 1"));
  VoucherRecord stored = *Get(Record(1).guid);
  EXPECT_EQ(stored.voucher, "extended");
  EXPECT_EQ(stored.state, VoucherState::kTransferred);
  EXPECT_EQ(stored.updated_at, kT0 + absl::Hours(1));
  EXPECT_EQ(stored.created_at, Record(1).created_at);
  EXPECT_EQ(stored.revision, 2);
  VoucherRecord missing = Record(9);
  missing.revision = 1;
  EXPECT_EQ(
      store_->Transact([&](Transaction& tx) { return tx.vouchers().Update(missing).status(); })
          .code(),
      absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, ListPagesInInsertionOrder) {
  for (int i = 25; i >= 1; --i) ASSERT_TRUE(Insert(Record(i)).ok());  // Reverse GUID order.
  std::vector<std::string> serials;
  std::string token;
  int pages = 0;
  do {
    VoucherPage page;
    ASSERT_TRUE(store_
                    ->Transact([&](Transaction& tx) -> absl::Status {
                      absl::StatusOr<VoucherPage> p = tx.vouchers().List(token, 10);
                      if (!p.ok()) return p.status();
                      page = *std::move(p);
                      return absl::OkStatus();
                    })
                    .ok());
    for (const VoucherRecord& record : page.records) serials.push_back(record.serial);
    token = page.next_page_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(serials.size(), 25u);
  EXPECT_EQ(serials.front(), "SN-25");
  EXPECT_EQ(serials.back(), "SN-1");
}

TEST_P(StoreConformanceTest, ListRefusesBadTokensAndSizes) {
  for (const char* token : {"garbage", "v1:-4", "v2:10"}) {
    absl::Status status =
        store_->Transact([&](Transaction& tx) { return tx.vouchers().List(token, 10).status(); });
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << token;
  }
  absl::Status too_big = store_->Transact(
      [&](Transaction& tx) { return tx.vouchers().List("", kMaxPageSize + 1).status(); });
  EXPECT_THAT(std::string(too_big.message()), HasSubstr("page size must be 1 to 1000"));
}

TEST_P(StoreConformanceTest, AFailedTransactionLeavesNothingBehind) {
  ASSERT_TRUE(Insert(Record(1)).ok());
  absl::Status status = store_->Transact([&](Transaction& tx) -> absl::Status {
    if (absl::Status s = tx.vouchers().Insert(Record(2)); !s.ok()) return s;
    if (absl::Status s = tx.audit().Append(Event("voucher.create")).status(); !s.ok()) return s;
    VoucherRecord update = Record(1);
    update.revision = 1;
    update.voucher = "changed";
    if (absl::Status s = tx.vouchers().Update(update).status(); !s.ok()) return s;
    return absl::FailedPreconditionError("the caller changed its mind");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count(), 1);
  EXPECT_EQ(Get(Record(1).guid)->voucher, Record(1).voucher);
  EXPECT_EQ(Get(Record(2).guid).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*VerifyAuditChain(*store_), 0);
  // A failed step inside a transaction does not poison the store.
  EXPECT_TRUE(Insert(Record(2)).ok());
}

TEST_P(StoreConformanceTest, AuditLogIsAHashChain) {
  std::vector<AuditEvent> appended;
  for (const char* action : {"di.complete", "voucher.extend", "voucher.export"}) {
    ASSERT_TRUE(store_
                    ->Transact([&](Transaction& tx) -> absl::Status {
                      absl::StatusOr<AuditEvent> event = tx.audit().Append(Event(action));
                      if (!event.ok()) return event.status();
                      appended.push_back(*event);
                      return absl::OkStatus();
                    })
                    .ok());
  }
  EXPECT_EQ(appended[0].sequence, 1);
  EXPECT_EQ(appended[2].sequence, 3);
  EXPECT_EQ(appended[0].hash, AuditChainHash(AuditGenesisHash(), appended[0]));
  EXPECT_EQ(appended[2].hash, AuditChainHash(appended[1].hash, appended[2]));
  absl::StatusOr<int64_t> verified = VerifyAuditChain(*store_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, 3);
  std::vector<AuditEvent> listed;
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    absl::StatusOr<std::vector<AuditEvent>> events = tx.audit().List(1, 10);
                    if (!events.ok()) return events.status();
                    listed = *events;
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].action, "voucher.extend");
  EXPECT_EQ(listed[0].time, kT0);
  EXPECT_EQ(listed[1].hash, appended[2].hash);
}

TEST_P(StoreConformanceTest, AuditEventsAreValidated) {
  AuditEvent no_actor = Event("x");
  no_actor.actor.clear();
  AuditEvent long_details = Event("x");
  long_details.details = std::string(kMaxAuditFieldLength + 1, 'd');
  for (const AuditEvent& event : {no_actor, long_details}) {
    absl::Status status =
        store_->Transact([&](Transaction& tx) { return tx.audit().Append(event).status(); });
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_P(StoreConformanceTest, ConcurrentWritersAllLand) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        VoucherRecord record = Record(0);
        record.guid = absl::StrCat("guid-", t, "-", i);
        record.serial = absl::StrCat("SN-", t, "-", i);
        absl::Status status = store_->Transact([&](Transaction& tx) -> absl::Status {
          if (absl::Status s = tx.vouchers().Insert(record); !s.ok()) return s;
          return tx.audit().Append(Event("di.complete")).status();
        });
        EXPECT_TRUE(status.ok()) << status;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(Count(), kThreads * kPerThread);
  EXPECT_EQ(*VerifyAuditChain(*store_), kThreads * kPerThread);
}

SupportDeclarationRecord Declaration(const std::string& model, int64_t sequence) {
  SupportDeclarationRecord record;
  record.model = model;
  record.sequence = sequence;
  record.security_updates_until = absl::StrCat("20", 30 + sequence, "-12-31");
  record.signed_declaration = std::string("\x00signed\xff", 8) + std::to_string(sequence);
  record.declared_at = kT0 + absl::Seconds(sequence);
  return record;
}

TEST_P(StoreConformanceTest, SupportCurrentIsTheHighestSequencePerModel) {
  absl::StatusOr<SupportDeclarationRecord> none = CurrentSupport("gw-100");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("gw-100"));

  // Inserted out of order, and another model in between.
  for (const SupportDeclarationRecord& record :
       {Declaration("gw-100", 1), Declaration("gw-100", 3), Declaration("gw-10", 7),
        Declaration("gw-1000", 9), Declaration("gw-100", 2)}) {
    ASSERT_TRUE(store_->Transact([&](Transaction& tx) { return tx.support().Insert(record); }).ok())
        << record.model << " " << record.sequence;
  }
  absl::StatusOr<SupportDeclarationRecord> current = CurrentSupport("gw-100");
  ASSERT_TRUE(current.ok()) << current.status();
  const SupportDeclarationRecord want = Declaration("gw-100", 3);
  EXPECT_EQ(current->model, want.model);
  EXPECT_EQ(current->sequence, 3);
  EXPECT_EQ(current->security_updates_until, want.security_updates_until);
  EXPECT_EQ(current->signed_declaration, want.signed_declaration);
  EXPECT_EQ(current->declared_at, want.declared_at);
}

TEST_P(StoreConformanceTest, SupportRefusesRepeatsAndBadRecords) {
  ASSERT_TRUE(
      store_
          ->Transact([&](Transaction& tx) { return tx.support().Insert(Declaration("gw-100", 1)); })
          .ok());
  SupportDeclarationRecord repeat = Declaration("gw-100", 1);
  repeat.signed_declaration = "other";
  absl::Status status =
      store_->Transact([&](Transaction& tx) { return tx.support().Insert(repeat); });
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(status.message()), HasSubstr("already has support declaration 1"));

  SupportDeclarationRecord no_model = Declaration("", 2);
  EXPECT_EQ(store_->Transact([&](Transaction& tx) { return tx.support().Insert(no_model); }).code(),
            absl::StatusCode::kInvalidArgument);
  SupportDeclarationRecord zero = Declaration("gw-100", 0);
  EXPECT_EQ(store_->Transact([&](Transaction& tx) { return tx.support().Insert(zero); }).code(),
            absl::StatusCode::kInvalidArgument);

  // The stored declaration is untouched.
  absl::StatusOr<SupportDeclarationRecord> current = CurrentSupport("gw-100");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->signed_declaration, Declaration("gw-100", 1).signed_declaration);
}

TEST_P(StoreConformanceTest, SupportInsertRollsBackWithItsTransaction) {
  absl::Status status = store_->Transact([&](Transaction& tx) -> absl::Status {
    if (absl::Status s = tx.support().Insert(Declaration("gw-100", 1)); !s.ok()) return s;
    return absl::AbortedError("changed its mind");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  absl::StatusOr<SupportDeclarationRecord> current = CurrentSupport("gw-100");
  EXPECT_EQ(current.status().code(), absl::StatusCode::kNotFound);
}

RegistrationRecord Registration(int i, absl::Time expires_at) {
  RegistrationRecord record;
  record.guid = std::string(15, '\x02') + static_cast<char>(i);
  record.voucher = std::string("\x00voucher\xff", 9) + std::to_string(i);
  record.device_key = absl::StrCat("device-key-", i);
  record.owner_chain = std::string(32, static_cast<char>(i));
  record.address_record = absl::StrCat("record-", i);
  record.registered_at = kT0;
  record.expires_at = expires_at;
  return record;
}

TEST_P(StoreConformanceTest, RegistrationPutGetReplaceDelete) {
  const RegistrationRecord first = Registration(1, kT0 + absl::Hours(1));
  ASSERT_TRUE(
      store_->Transact([&](Transaction& tx) { return tx.registrations().Put(first); }).ok());
  RegistrationRecord got;
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    absl::StatusOr<RegistrationRecord> r = tx.registrations().Get(first.guid);
                    if (!r.ok()) return r.status();
                    got = *r;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(got.guid, first.guid);
  EXPECT_EQ(got.voucher, first.voucher);
  EXPECT_EQ(got.device_key, first.device_key);
  EXPECT_EQ(got.owner_chain, first.owner_chain);
  EXPECT_EQ(got.address_record, first.address_record);
  EXPECT_EQ(got.registered_at, first.registered_at);
  EXPECT_EQ(got.expires_at, first.expires_at);

  // A second Put for the GUID replaces the first, keeping one row.
  RegistrationRecord second = Registration(1, kT0 + absl::Hours(2));
  second.address_record = "replaced";
  ASSERT_TRUE(
      store_->Transact([&](Transaction& tx) { return tx.registrations().Put(second); }).ok());
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    absl::StatusOr<RegistrationRecord> r = tx.registrations().Get(first.guid);
                    if (!r.ok()) return r.status();
                    EXPECT_EQ(r->address_record, "replaced");
                    EXPECT_EQ(r->expires_at, kT0 + absl::Hours(2));
                    absl::StatusOr<int64_t> count = tx.registrations().Count();
                    EXPECT_EQ(count.value_or(-1), 1);
                    return absl::OkStatus();
                  })
                  .ok());

  ASSERT_TRUE(
      store_->Transact([&](Transaction& tx) { return tx.registrations().Delete(first.guid); })
          .ok());
  absl::Status again =
      store_->Transact([&](Transaction& tx) { return tx.registrations().Delete(first.guid); });
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  absl::Status get = store_->Transact(
      [&](Transaction& tx) { return tx.registrations().Get(first.guid).status(); });
  EXPECT_EQ(get.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(get.message()), HasSubstr("no registration"));
}

TEST_P(StoreConformanceTest, RegistrationRefusesBadRecords) {
  RegistrationRecord no_guid = Registration(1, kT0 + absl::Hours(1));
  no_guid.guid.clear();
  RegistrationRecord backwards = Registration(2, kT0);
  for (const RegistrationRecord& bad : {no_guid, backwards}) {
    absl::Status status =
        store_->Transact([&](Transaction& tx) { return tx.registrations().Put(bad); });
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  }
  absl::Status count = store_->Transact([&](Transaction& tx) -> absl::Status {
    EXPECT_EQ(tx.registrations().Count().value_or(-1), 0);
    return absl::OkStatus();
  });
  EXPECT_TRUE(count.ok());
}

TEST_P(StoreConformanceTest, RegistrationListPagesAndReplacementKeepsItsPlace) {
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    for (int i = 1; i <= 5; ++i) {
                      absl::Status s =
                          tx.registrations().Put(Registration(i, kT0 + absl::Hours(i)));
                      if (!s.ok()) return s;
                    }
                    // Replacing 2 keeps it second.
                    return tx.registrations().Put(Registration(2, kT0 + absl::Hours(9)));
                  })
                  .ok());
  std::vector<std::string> seen;
  std::string token;
  do {
    ASSERT_TRUE(store_
                    ->Transact([&](Transaction& tx) -> absl::Status {
                      absl::StatusOr<RegistrationPage> page = tx.registrations().List(token, 2);
                      if (!page.ok()) return page.status();
                      for (const RegistrationRecord& r : page->records) seen.push_back(r.guid);
                      token = page->next_page_token;
                      return absl::OkStatus();
                    })
                    .ok());
  } while (!token.empty());
  ASSERT_EQ(seen.size(), 5u);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(seen[i - 1], Registration(i, kT0).guid);
  absl::Status bad = store_->Transact(
      [&](Transaction& tx) { return tx.registrations().List("garbage", 2).status(); });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, DeleteExpiredTakesTheOldestExpiriesUpToTheLimit) {
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    // Expiries: 1 -> +5h, 2 -> +1h, 3 -> +3h, 4 -> +2h, 5 -> +10h.
                    const int hours[] = {5, 1, 3, 2, 10};
                    for (int i = 1; i <= 5; ++i) {
                      absl::Status s =
                          tx.registrations().Put(Registration(i, kT0 + absl::Hours(hours[i - 1])));
                      if (!s.ok()) return s;
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  // At +5h, four have expired (expiry <= now counts); the limit takes two, the
  // earliest: 2 (+1h) and 4 (+2h).
  int64_t deleted = -1;
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    absl::StatusOr<int64_t> n =
                        tx.registrations().DeleteExpired(kT0 + absl::Hours(5), 2);
                    if (!n.ok()) return n.status();
                    deleted = *n;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(deleted, 2);
  auto exists = [&](int i) {
    return store_
        ->Transact([&](Transaction& tx) {
          return tx.registrations().Get(Registration(i, kT0).guid).status();
        })
        .ok();
  };
  EXPECT_TRUE(exists(1));
  EXPECT_FALSE(exists(2));
  EXPECT_TRUE(exists(3));
  EXPECT_FALSE(exists(4));
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    absl::StatusOr<int64_t> n =
                        tx.registrations().DeleteExpired(kT0 + absl::Hours(5), 100);
                    if (!n.ok()) return n.status();
                    deleted = *n;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(deleted, 2);  // 1 (+5h, exactly now) and 3.
  EXPECT_TRUE(exists(5));
  EXPECT_FALSE(exists(1));
}

TrustedKeyRecord TrustedKey(int i) {
  TrustedKeyRecord record;
  record.fingerprint = std::string(31, '\x03') + static_cast<char>(i);
  record.spki_der = absl::StrCat("spki-", i);
  record.label = absl::StrCat("Manufacturer ", i);
  record.added_at = kT0;
  return record;
}

TEST_P(StoreConformanceTest, TrustedKeysInsertGetListDelete) {
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    absl::Status s = tx.trusted_keys().Insert(TrustedKey(2));
                    if (!s.ok()) return s;
                    return tx.trusted_keys().Insert(TrustedKey(1));
                  })
                  .ok());
  absl::Status taken =
      store_->Transact([&](Transaction& tx) { return tx.trusted_keys().Insert(TrustedKey(1)); });
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    absl::StatusOr<TrustedKeyRecord> got =
                        tx.trusted_keys().Get(TrustedKey(2).fingerprint);
                    if (!got.ok()) return got.status();
                    EXPECT_EQ(got->spki_der, "spki-2");
                    EXPECT_EQ(got->label, "Manufacturer 2");
                    EXPECT_EQ(got->added_at, kT0);
                    absl::StatusOr<std::vector<TrustedKeyRecord>> all = tx.trusted_keys().List();
                    if (!all.ok()) return all.status();
                    EXPECT_EQ(all->size(), 2u);
                    if (all->size() == 2) {
                      // In fingerprint order.
                      EXPECT_EQ((*all)[0].fingerprint, TrustedKey(1).fingerprint);
                      EXPECT_EQ((*all)[1].fingerprint, TrustedKey(2).fingerprint);
                    }
                    return tx.trusted_keys().Delete(TrustedKey(1).fingerprint);
                  })
                  .ok());
  absl::Status gone = store_->Transact(
      [&](Transaction& tx) { return tx.trusted_keys().Get(TrustedKey(1).fingerprint).status(); });
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  absl::Status again = store_->Transact(
      [&](Transaction& tx) { return tx.trusted_keys().Delete(TrustedKey(1).fingerprint); });
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  TrustedKeyRecord short_fingerprint = TrustedKey(3);
  short_fingerprint.fingerprint.resize(20);
  absl::Status bad = store_->Transact(
      [&](Transaction& tx) { return tx.trusted_keys().Insert(short_fingerprint); });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, TrustListIsBounded) {
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    for (size_t i = 0; i < kMaxTrustedKeys; ++i) {
                      TrustedKeyRecord record = TrustedKey(0);
                      record.fingerprint =
                          std::string(28, '\x04') + std::string(reinterpret_cast<char*>(&i), 4);
                      absl::Status s = tx.trusted_keys().Insert(record);
                      if (!s.ok()) return s;
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  absl::Status full =
      store_->Transact([&](Transaction& tx) { return tx.trusted_keys().Insert(TrustedKey(1)); });
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
}

TEST_P(StoreConformanceTest, RegistrationAndTrustRollBackWithTheirTransaction) {
  absl::Status status = store_->Transact([&](Transaction& tx) -> absl::Status {
    absl::Status s = tx.registrations().Put(Registration(1, kT0 + absl::Hours(1)));
    if (!s.ok()) return s;
    s = tx.trusted_keys().Insert(TrustedKey(1));
    if (!s.ok()) return s;
    return absl::AbortedError("caller gives up");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    EXPECT_EQ(tx.registrations().Count().value_or(-1), 0);
                    EXPECT_EQ(
                        tx.trusted_keys().List().value_or(std::vector<TrustedKeyRecord>{{}}).size(),
                        0u);
                    return absl::OkStatus();
                  })
                  .ok());
}

OwnedDeviceRecord OwnedDevice(int i) {
  OwnedDeviceRecord record;
  record.guid = std::string(15, '\x07') + static_cast<char>(i);
  record.model = "gw-100";
  record.serial = absl::StrCat("SN-", i);
  record.voucher = std::string("\x00owned\xff", 7) + std::to_string(i);
  record.imported_at = kT0 + absl::Seconds(i);
  record.updated_at = record.imported_at;
  record.next_registration_at = kT0 + absl::Seconds(100 - i);
  return record;
}

absl::StatusOr<OwnedDeviceRecord> GetOwned(Store& store, const std::string& guid) {
  absl::StatusOr<OwnedDeviceRecord> out = absl::InternalError("not run");
  absl::Status status = store.Transact([&](Transaction& tx) {
    out = tx.owned_devices().Get(guid);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

TEST_P(StoreConformanceTest, OwnedDeviceInsertGetUpdateKeepsExactValues) {
  OwnedDeviceRecord record = OwnedDevice(1);
  ASSERT_TRUE(
      store_->Transact([&](Transaction& tx) { return tx.owned_devices().Insert(record); }).ok());
  absl::StatusOr<OwnedDeviceRecord> got = GetOwned(*store_, record.guid);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->voucher, record.voucher);
  EXPECT_EQ(got->state, OwnedDeviceState::kImported);
  EXPECT_EQ(got->registered_until, absl::InfinitePast());
  EXPECT_EQ(got->onboarded_at, absl::InfinitePast());
  EXPECT_EQ(got->next_registration_at, record.next_registration_at);
  EXPECT_EQ(got->revision, 1);

  OwnedDeviceRecord changed = *got;
  changed.state = OwnedDeviceState::kOnboarded;
  changed.replacement_guid = std::string(16, '\x09');
  changed.replacement_voucher = std::string("new\x00voucher", 11);
  changed.onboarded_at = kT0 + absl::Hours(1);
  changed.enrolment = "enrolment";
  changed.registration_failures = 3;
  changed.last_error = "rendezvous down";
  changed.voucher = "ignored: the imported voucher never changes";
  absl::StatusOr<int64_t> revision = absl::InternalError("not run");
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) {
                    revision = tx.owned_devices().Update(changed);
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(revision.ok()) << revision.status();
  EXPECT_EQ(*revision, 2);

  // Found by either GUID, the imported voucher unchanged.
  for (const std::string& guid : {record.guid, changed.replacement_guid}) {
    got = GetOwned(*store_, guid);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->guid, record.guid);
    EXPECT_EQ(got->voucher, record.voucher);
    EXPECT_EQ(got->state, OwnedDeviceState::kOnboarded);
    EXPECT_EQ(got->replacement_voucher, changed.replacement_voucher);
    EXPECT_EQ(got->onboarded_at, changed.onboarded_at);
    EXPECT_EQ(got->enrolment, "enrolment");
    EXPECT_EQ(got->registration_failures, 3);
    EXPECT_EQ(got->last_error, "rendezvous down");
    EXPECT_EQ(got->revision, 2);
  }

  // A stale revision is refused and changes nothing.
  changed.last_error = "stale";
  absl::Status stale = store_->Transact(
      [&](Transaction& tx) { return tx.owned_devices().Update(changed).status(); });
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(GetOwned(*store_, record.guid)->last_error, "rendezvous down");
  EXPECT_EQ(GetOwned(*store_, std::string(16, '\x55')).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, OwnedDeviceGuidsAreUniqueAcrossBothColumns) {
  OwnedDeviceRecord first = OwnedDevice(1);
  first.replacement_guid = std::string(16, '\x09');
  ASSERT_TRUE(
      store_->Transact([&](Transaction& tx) { return tx.owned_devices().Insert(first); }).ok());
  OwnedDeviceRecord again = OwnedDevice(1);
  EXPECT_EQ(
      store_->Transact([&](Transaction& tx) { return tx.owned_devices().Insert(again); }).code(),
      absl::StatusCode::kAlreadyExists);
  // Another device may not take the first one's replacement GUID, either way.
  OwnedDeviceRecord second = OwnedDevice(2);
  second.guid = first.replacement_guid;
  EXPECT_EQ(
      store_->Transact([&](Transaction& tx) { return tx.owned_devices().Insert(second); }).code(),
      absl::StatusCode::kAlreadyExists);
  second = OwnedDevice(2);
  ASSERT_TRUE(
      store_->Transact([&](Transaction& tx) { return tx.owned_devices().Insert(second); }).ok());
  second.revision = 1;
  second.replacement_guid = first.replacement_guid;
  EXPECT_EQ(
      store_->Transact([&](Transaction& tx) { return tx.owned_devices().Update(second).status(); })
          .code(),
      absl::StatusCode::kAlreadyExists);
  second.replacement_guid = first.guid;
  EXPECT_EQ(
      store_->Transact([&](Transaction& tx) { return tx.owned_devices().Update(second).status(); })
          .code(),
      absl::StatusCode::kAlreadyExists);
  OwnedDeviceRecord bad = OwnedDevice(3);
  bad.guid = "short";
  EXPECT_EQ(
      store_->Transact([&](Transaction& tx) { return tx.owned_devices().Insert(bad); }).code(),
      absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    EXPECT_EQ(tx.owned_devices().Count().value_or(-1), 2);
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_P(StoreConformanceTest, OwnedDevicesListInImportOrderAndDueInTimeOrder) {
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    for (int i = 1; i <= 5; ++i) {
                      absl::Status s = tx.owned_devices().Insert(OwnedDevice(i));
                      if (!s.ok()) return s;
                    }
                    // Device 1 is onboarded: never due again.
                    absl::StatusOr<OwnedDeviceRecord> one =
                        tx.owned_devices().Get(OwnedDevice(1).guid);
                    if (!one.ok()) return one.status();
                    one->state = OwnedDeviceState::kOnboarded;
                    return tx.owned_devices().Update(*one).status();
                  })
                  .ok());
  std::vector<std::string> listed;
  std::string token;
  do {
    absl::StatusOr<OwnedDevicePage> page = absl::InternalError("not run");
    ASSERT_TRUE(store_
                    ->Transact([&](Transaction& tx) {
                      page = tx.owned_devices().List(token, 2);
                      return absl::OkStatus();
                    })
                    .ok());
    ASSERT_TRUE(page.ok()) << page.status();
    for (const OwnedDeviceRecord& r : page->records) listed.push_back(r.serial);
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_THAT(listed, testing::ElementsAre("SN-1", "SN-2", "SN-3", "SN-4", "SN-5"));

  // next_registration_at is kT0 + 100 - i: device 5 is the earliest.
  absl::StatusOr<std::vector<OwnedDeviceRecord>> due = absl::InternalError("not run");
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) {
                    due = tx.owned_devices().DueForRegistration(kT0 + absl::Seconds(97), 10);
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(due.ok()) << due.status();
  std::vector<std::string> serials;
  for (const OwnedDeviceRecord& r : *due) serials.push_back(r.serial);
  EXPECT_THAT(serials, testing::ElementsAre("SN-5", "SN-4", "SN-3"));
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) {
                    due = tx.owned_devices().DueForRegistration(kT0 + absl::Hours(1), 2);
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].serial, "SN-5");
}

TEST_P(StoreConformanceTest, SettingsPutReplaceRemove) {
  auto get = [&](const std::string& scope) {
    absl::StatusOr<std::string> out = absl::InternalError("not run");
    EXPECT_TRUE(store_
                    ->Transact([&](Transaction& tx) {
                      out = tx.settings().Get(scope);
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  };
  EXPECT_EQ(get("model:gw-100").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_
                  ->Transact([&](Transaction& tx) {
                    return tx.settings().Put("model:gw-100", std::string("a\x00b", 3));
                  })
                  .ok());
  EXPECT_EQ(get("model:gw-100").value_or(""), std::string("a\x00b", 3));
  ASSERT_TRUE(
      store_->Transact([&](Transaction& tx) { return tx.settings().Put("model:gw-100", "c"); })
          .ok());
  EXPECT_EQ(get("model:gw-100").value_or(""), "c");
  ASSERT_TRUE(
      store_->Transact([&](Transaction& tx) { return tx.settings().Put("model:gw-100", ""); })
          .ok());
  EXPECT_EQ(get("model:gw-100").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Transact([&](Transaction& tx) { return tx.settings().Put("", "x"); }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_
                ->Transact([&](Transaction& tx) {
                  return tx.settings().Put(std::string(kMaxScopeLength + 1, 's'), "x");
                })
                .code(),
            absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest,
                         testing::Values(Backend{"Memory", &OpenMemory},
                                         Backend{"Sqlite", &OpenSqlite}),
                         [](const testing::TestParamInfo<Backend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace custody::storage
