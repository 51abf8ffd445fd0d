// What the SQLite store promises beyond the conformance suite: durability across
// reopen and process death, owner-only files, WAL, versioned schema, and a
// tamper-evident audit log.

#include "core/storage/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/storage/audit_chain.h"
#include "core/storage/internal/sqlite.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::storage {
namespace {

using ::testing::HasSubstr;

class SqliteStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    path_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/sqlite", ++counter, ".db");
  }

  std::unique_ptr<Store> Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Runs raw SQL on the database behind the store's back (tampering, schema games).
  void RawExec(const char* sql) {
    absl::StatusOr<std::unique_ptr<internal::Connection>> db =
        internal::Connection::Open(path_, false);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  }

  static VoucherRecord Record(const std::string& id) {
    VoucherRecord record;
    record.guid = "guid-" + id;
    record.model = "gw-100";
    record.serial = "SN-" + id;
    record.voucher = "voucher-" + id;
    record.created_at = record.updated_at = absl::FromUnixSeconds(1790000000);
    return record;
  }

  static AuditEvent Event(const std::string& action) {
    AuditEvent event;
    event.time = absl::FromUnixSeconds(1790000000);
    event.actor = "system";
    event.action = action;
    return event;
  }

  std::string path_;
};

TEST_F(SqliteStoreTest, DataSurvivesReopenAndFileIsOwnerOnly) {
  {
    std::unique_ptr<Store> store = Open();
    ASSERT_TRUE(
        store->Transact([](Transaction& tx) { return tx.vouchers().Insert(Record("1")); }).ok());
  }
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::unique_ptr<Store> store = Open();
  absl::Status status = store->Transact([](Transaction& tx) -> absl::Status {
    absl::StatusOr<VoucherRecord> record = tx.vouchers().Get("guid-1");
    if (!record.ok()) return record.status();
    return record->voucher == "voucher-1" ? absl::OkStatus() : absl::InternalError("wrong");
  });
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(SqliteStoreTest, DatabaseReadableByOthersIsRefused) {
  Open();
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("chmod 600"));
}

// synchronous=FULL is a per-connection setting that another connection cannot
// observe; WAL is a property of the file.
TEST_F(SqliteStoreTest, UsesWal) {
  std::unique_ptr<Store> store = Open();
  absl::StatusOr<std::unique_ptr<internal::Connection>> db =
      internal::Connection::Open(path_, false);
  ASSERT_TRUE(db.ok());
  absl::StatusOr<internal::Statement*> mode = (*db)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*(*mode)->Step());
  EXPECT_EQ((*mode)->ColumnText(0), "wal");
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefused) {
  Open();
  RawExec("INSERT INTO schema_migrations (version, applied_at_us) VALUES (99, 0)");
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr(absl::StrCat("schema version 99, newer than this binary's ",
                                     kSqliteSchemaVersion)));
}

TEST_F(SqliteStoreTest, ReopeningAppliesNoMigrationTwice) {
  Open();
  Open();
  absl::StatusOr<std::unique_ptr<internal::Connection>> db =
      internal::Connection::Open(path_, false);
  ASSERT_TRUE(db.ok());
  absl::StatusOr<internal::Statement*> count =
      (*db)->Prepare("SELECT COUNT(*), MAX(version) FROM schema_migrations");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*(*count)->Step());
  EXPECT_EQ((*count)->ColumnInt64(0), kSqliteSchemaVersion);
  EXPECT_EQ((*count)->ColumnInt64(1), kSqliteSchemaVersion);
}

TEST_F(SqliteStoreTest, VersionOneDatabaseIsMigratedKeepingItsData) {
  // A database as schema version 1 left it (the migration as it shipped), with a
  // voucher in it.
  const int fd = ::open(path_.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  RawExec(R"sql(
    CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at_us INTEGER NOT NULL);
    INSERT INTO schema_migrations (version, applied_at_us) VALUES (1, 0);
    CREATE TABLE vouchers (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, guid BLOB NOT NULL UNIQUE, model TEXT NOT NULL,
      serial TEXT NOT NULL, voucher BLOB NOT NULL, state TEXT NOT NULL,
      created_at_us INTEGER NOT NULL, updated_at_us INTEGER NOT NULL, revision INTEGER NOT NULL,
      UNIQUE (model, serial));
    CREATE TABLE audit_log (
      seq INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, actor TEXT NOT NULL,
      action TEXT NOT NULL, target TEXT NOT NULL, details TEXT NOT NULL, hash BLOB NOT NULL);
    INSERT INTO vouchers (guid, model, serial, voucher, state, created_at_us, updated_at_us,
      revision) VALUES (X'0102', 'gw-100', 'SN-OLD', X'0a0b', 'manufactured', 1, 2, 1);
  )sql");
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);

  std::unique_ptr<Store> store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<VoucherRecord> old = absl::InternalError("not run");
  SupportDeclarationRecord declaration;
  declaration.model = "gw-100";
  declaration.sequence = 1;
  declaration.security_updates_until = "2031-12-31";
  declaration.signed_declaration = "signed";
  absl::StatusOr<SupportDeclarationRecord> current = absl::InternalError("not run");
  ASSERT_TRUE(store
                  ->Transact([&](Transaction& tx) -> absl::Status {
                    old = tx.vouchers().GetBySerial("gw-100", "SN-OLD");
                    if (absl::Status s = tx.support().Insert(declaration); !s.ok()) return s;
                    current = tx.support().Current("gw-100");
                    // Migration 3's tables are there too.
                    RegistrationRecord registration;
                    registration.guid = "\x03\x04";
                    registration.registered_at = absl::FromUnixSeconds(1);
                    registration.expires_at = absl::FromUnixSeconds(2);
                    if (absl::Status s = tx.registrations().Put(registration); !s.ok()) return s;
                    return tx.trusted_keys().List().status();
                  })
                  .ok());
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->guid, "\x01\x02");
  EXPECT_EQ(old->voucher, "\x0a\x0b");
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->signed_declaration, "signed");

  absl::StatusOr<std::unique_ptr<internal::Connection>> db =
      internal::Connection::Open(path_, false);
  ASSERT_TRUE(db.ok());
  absl::StatusOr<internal::Statement*> versions =
      (*db)->Prepare("SELECT COUNT(*), MAX(version) FROM schema_migrations");
  ASSERT_TRUE(versions.ok());
  ASSERT_TRUE(*(*versions)->Step());
  EXPECT_EQ((*versions)->ColumnInt64(0), kSqliteSchemaVersion);
  EXPECT_EQ((*versions)->ColumnInt64(1), kSqliteSchemaVersion);
}

TEST_F(SqliteStoreTest, NotADatabaseIsDataLoss) {
  {
    std::ofstream out(path_);
    out << std::string(4096, 'x');
  }
  ::chmod(path_.c_str(), 0600);
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

TEST_F(SqliteStoreTest, TamperingWithTheAuditLogIsDetected) {
  {
    std::unique_ptr<Store> store = Open();
    for (const char* action : {"a", "b", "c"}) {
      ASSERT_TRUE(
          store
              ->Transact([&](Transaction& tx) { return tx.audit().Append(Event(action)).status(); })
              .ok());
    }
    ASSERT_EQ(*VerifyAuditChain(*store), 3);
  }
  RawExec("UPDATE audit_log SET details = 'rewritten' WHERE seq = 2");
  std::unique_ptr<Store> store = Open();
  absl::StatusOr<int64_t> edited = VerifyAuditChain(*store);
  EXPECT_EQ(edited.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(edited.status().message()), HasSubstr("event 2 does not match"));
  store.reset();
  RawExec("DELETE FROM audit_log WHERE seq = 2");
  store = Open();
  EXPECT_THAT(std::string(VerifyAuditChain(*store).status().message()),
              HasSubstr("event 2 is missing"));
}

// A process that dies inside a transaction leaves nothing of it; one that dies
// right after a commit keeps everything it committed.
TEST_F(SqliteStoreTest, ProcessDeathLosesNothingCommittedAndKeepsNoPartialTransaction) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
    if (!store.ok()) ::_exit(2);
    absl::Status committed = (*store)->Transact([](Transaction& tx) -> absl::Status {
      if (absl::Status s = tx.vouchers().Insert(Record("committed")); !s.ok()) return s;
      return tx.audit().Append(Event("committed")).status();
    });
    if (!committed.ok()) ::_exit(3);
    (void)(*store)->Transact([](Transaction& tx) -> absl::Status {
      (void)tx.vouchers().Insert(Record("torn"));
      (void)tx.audit().Append(Event("torn"));
      ::_exit(0);  // Dies mid-transaction: no commit, no rollback, no destructors.
    });
    ::_exit(4);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);

  std::unique_ptr<Store> store = Open();
  absl::Status status = store->Transact([](Transaction& tx) -> absl::Status {
    if (!tx.vouchers().Get("guid-committed").ok()) return absl::InternalError("lost a commit");
    if (tx.vouchers().Get("guid-torn").status().code() != absl::StatusCode::kNotFound) {
      return absl::InternalError("kept part of a transaction");
    }
    absl::StatusOr<int64_t> count = tx.vouchers().Count();
    if (!count.ok() || *count != 1) return absl::InternalError("wrong count");
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(*VerifyAuditChain(*store), 1);
}

}  // namespace
}  // namespace custody::storage
