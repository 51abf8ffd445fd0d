#include "core/storage/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/base/status.h"
#include "core/storage/audit_chain.h"
#include "core/storage/internal/sqlite.h"
#include "core/storage/owner_rules.h"
#include "core/storage/page_token.h"
#include "core/storage/rendezvous_rules.h"
#include "core/storage/support_rules.h"

namespace custody::storage {
namespace {

using internal::Connection;
using internal::Statement;

// Migration N takes the schema from version N - 1 to N. Never edit one that has
// shipped: add the next.
constexpr const char* kMigrations[] = {
    // 1: vouchers and the audit log.
    R"sql(
    CREATE TABLE vouchers (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      guid BLOB NOT NULL UNIQUE,
      model TEXT NOT NULL,
      serial TEXT NOT NULL,
      voucher BLOB NOT NULL,
      state TEXT NOT NULL,
      created_at_us INTEGER NOT NULL,
      updated_at_us INTEGER NOT NULL,
      revision INTEGER NOT NULL,
      UNIQUE (model, serial)
    );
    CREATE TABLE audit_log (
      seq INTEGER PRIMARY KEY,
      time_us INTEGER NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      target TEXT NOT NULL,
      details TEXT NOT NULL,
      hash BLOB NOT NULL
    );
    )sql",
    // 2: support-period declarations, every one ever made.
    R"sql(
    CREATE TABLE support_declarations (
      model TEXT NOT NULL,
      sequence INTEGER NOT NULL,
      security_updates_until TEXT NOT NULL,
      signed_declaration BLOB NOT NULL,
      declared_at_us INTEGER NOT NULL,
      PRIMARY KEY (model, sequence)
    );
    )sql",
    // 3: rendezvous registrations and the trusted manufacturer keys.
    R"sql(
    CREATE TABLE registrations (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      guid BLOB NOT NULL UNIQUE,
      voucher BLOB NOT NULL,
      device_key BLOB NOT NULL,
      owner_chain BLOB NOT NULL,
      address_record BLOB NOT NULL,
      registered_at_us INTEGER NOT NULL,
      expires_at_us INTEGER NOT NULL
    );
    CREATE INDEX registrations_by_expiry ON registrations (expires_at_us);
    CREATE TABLE trusted_keys (
      fingerprint BLOB PRIMARY KEY,
      spki_der BLOB NOT NULL,
      label TEXT NOT NULL,
      added_at_us INTEGER NOT NULL
    );
    )sql",
    // 4: the owner's devices and their settings.
    R"sql(
    CREATE TABLE owned_devices (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      guid BLOB NOT NULL UNIQUE,
      model TEXT NOT NULL,
      serial TEXT NOT NULL,
      voucher BLOB NOT NULL,
      state TEXT NOT NULL,
      imported_at_us INTEGER NOT NULL,
      updated_at_us INTEGER NOT NULL,
      registered_until_us INTEGER NOT NULL,
      next_registration_at_us INTEGER NOT NULL,
      registration_failures INTEGER NOT NULL,
      last_error TEXT NOT NULL,
      replacement_guid BLOB UNIQUE,
      replacement_voucher BLOB NOT NULL,
      onboarded_at_us INTEGER NOT NULL,
      enrolment BLOB NOT NULL,
      revision INTEGER NOT NULL
    );
    CREATE INDEX owned_devices_by_next_registration
      ON owned_devices (next_registration_at_us) WHERE state != 'onboarded';
    CREATE TABLE settings (
      scope TEXT PRIMARY KEY,
      value BLOB NOT NULL
    );
    )sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSqliteSchemaVersion,
              "one migration per schema version");

// absl::ToUnixMicros maps the infinite past to INT64_MIN; map it back.
absl::Time TimeFromColumn(int64_t micros) {
  return micros == INT64_MIN ? absl::InfinitePast() : absl::FromUnixMicros(micros);
}

// The columns ReadVoucher and ReadOwnedDevice read, in order.
constexpr char kVoucherColumns[] =
    "guid, model, serial, voucher, state, created_at_us, updated_at_us, revision";
constexpr char kOwnedDeviceColumns[] =
    "guid, model, serial, voucher, state, imported_at_us, updated_at_us, registered_until_us, "
    "next_registration_at_us, registration_failures, last_error, replacement_guid, "
    "replacement_voucher, onboarded_at_us, enrolment, revision";

// "SELECT <columns> FROM <table> <rest>". Connection::Prepare caches statements by
// their text, so building it per call costs one small allocation.
std::string Select(absl::string_view columns, absl::string_view table, absl::string_view rest) {
  return absl::StrCat("SELECT ", columns, " FROM ", table, " ", rest);
}

absl::StatusOr<VoucherRecord> ReadVoucher(const Statement& row, int first) {
  VoucherRecord record;
  record.guid = row.ColumnBlob(first);
  record.model = row.ColumnText(first + 1);
  record.serial = row.ColumnText(first + 2);
  record.voucher = row.ColumnBlob(first + 3);
  CUSTODY_ASSIGN_OR_RETURN(record.state, ParseVoucherState(row.ColumnText(first + 4)));
  record.created_at = absl::FromUnixMicros(row.ColumnInt64(first + 5));
  record.updated_at = absl::FromUnixMicros(row.ColumnInt64(first + 6));
  record.revision = row.ColumnInt64(first + 7);
  return record;
}

// The page after `page_token` from `sql`, whose columns are the insertion sequence
// and then the record's (?1: the sequence to start after; ?2: the row limit).
// One row more than asked is read, to know whether another page follows.
template <typename Page, typename ReadFn>
absl::StatusOr<Page> ReadPage(Connection* db, const char* sql, absl::string_view page_token,
                              size_t page_size, ReadFn read) {
  CUSTODY_RETURN_IF_ERROR(CheckPageSize(page_size));
  CUSTODY_ASSIGN_OR_RETURN(int64_t after, ParsePageToken(page_token));
  CUSTODY_ASSIGN_OR_RETURN(Statement * stmt, db->Prepare(sql));
  CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(1, after));
  CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(2, static_cast<int64_t>(page_size) + 1));
  Page page;
  int64_t last = 0;
  while (true) {
    CUSTODY_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (page.records.size() == page_size) {
      page.next_page_token = MakePageToken(last);
      break;
    }
    last = stmt->ColumnInt64(0);
    CUSTODY_ASSIGN_OR_RETURN(auto record, read(*stmt));
    page.records.push_back(std::move(record));
  }
  return page;
}

// The store's answer to a unique-key violation, worded like the other backends.
absl::Status UniqueViolation(const absl::Status& status, const VoucherRecord& record) {
  if (status.code() != absl::StatusCode::kAlreadyExists) return status;
  if (absl::StrContains(status.message(), "vouchers.guid")) {
    return absl::AlreadyExistsError("a voucher with this GUID is already stored");
  }
  return absl::AlreadyExistsError(absl::StrCat("a voucher for model \"", record.model,
                                               "\" serial \"", record.serial,
                                               "\" is already stored"));
}

RegistrationRecord ReadRegistration(const Statement& row, int first) {
  RegistrationRecord record;
  record.guid = row.ColumnBlob(first);
  record.voucher = row.ColumnBlob(first + 1);
  record.device_key = row.ColumnBlob(first + 2);
  record.owner_chain = row.ColumnBlob(first + 3);
  record.address_record = row.ColumnBlob(first + 4);
  record.registered_at = absl::FromUnixMicros(row.ColumnInt64(first + 5));
  record.expires_at = absl::FromUnixMicros(row.ColumnInt64(first + 6));
  return record;
}

class SqliteRegistrations final : public RegistrationTable {
 public:
  explicit SqliteRegistrations(Connection* db) : db_(db) {}

  absl::Status Put(const RegistrationRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateRegistration(record));
    // An upsert keeps the row's seq, so a replacement keeps its place in List.
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("INSERT INTO registrations (guid, voucher, device_key, owner_chain, "
                     "address_record, registered_at_us, expires_at_us) VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (guid) DO UPDATE SET "
                     "voucher = excluded.voucher, device_key = excluded.device_key, "
                     "owner_chain = excluded.owner_chain, "
                     "address_record = excluded.address_record, "
                     "registered_at_us = excluded.registered_at_us, "
                     "expires_at_us = excluded.expires_at_us"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, record.guid));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(2, record.voucher));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(3, record.device_key));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(4, record.owner_chain));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(5, record.address_record));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(6, absl::ToUnixMicros(record.registered_at)));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(7, absl::ToUnixMicros(record.expires_at)));
    return stmt->Run();
  }

  absl::StatusOr<RegistrationRecord> Get(absl::string_view guid) override {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("SELECT guid, voucher, device_key, owner_chain, address_record, "
                     "registered_at_us, expires_at_us FROM registrations WHERE guid = ?1"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, guid));
    CUSTODY_ASSIGN_OR_RETURN(bool found, stmt->Step());
    if (!found) return NoRegistration();
    return ReadRegistration(*stmt, 0);
  }

  absl::Status Delete(absl::string_view guid) override {
    CUSTODY_ASSIGN_OR_RETURN(Statement * stmt,
                             db_->Prepare("DELETE FROM registrations WHERE guid = ?1"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, guid));
    CUSTODY_RETURN_IF_ERROR(stmt->Run());
    if (sqlite3_changes(db_->db()) == 0) return NoRegistration();
    return absl::OkStatus();
  }

  absl::StatusOr<RegistrationPage> List(absl::string_view page_token, size_t page_size) override {
    return ReadPage<RegistrationPage>(
        db_,
        "SELECT seq, guid, voucher, device_key, owner_chain, address_record, registered_at_us, "
        "expires_at_us FROM registrations WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        page_token, page_size, [](const Statement& row) -> absl::StatusOr<RegistrationRecord> {
          return ReadRegistration(row, 1);
        });
  }

  absl::StatusOr<int64_t> DeleteExpired(absl::Time now, size_t limit) override {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("DELETE FROM registrations WHERE seq IN (SELECT seq FROM registrations "
                     "WHERE expires_at_us <= ?1 ORDER BY expires_at_us LIMIT ?2)"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(1, absl::ToUnixMicros(now)));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(2, static_cast<int64_t>(limit)));
    CUSTODY_RETURN_IF_ERROR(stmt->Run());
    return static_cast<int64_t>(sqlite3_changes(db_->db()));
  }

  absl::StatusOr<int64_t> Count() override {
    CUSTODY_ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("SELECT COUNT(*) FROM registrations"));
    CUSTODY_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return absl::InternalError("COUNT returned no row");
    return stmt->ColumnInt64(0);
  }

 private:
  Connection* db_;
};

class SqliteTrustedKeys final : public TrustedKeyTable {
 public:
  explicit SqliteTrustedKeys(Connection* db) : db_(db) {}

  absl::Status Insert(const TrustedKeyRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateTrustedKey(record));
    CUSTODY_ASSIGN_OR_RETURN(Statement * count, db_->Prepare("SELECT COUNT(*) FROM trusted_keys"));
    CUSTODY_ASSIGN_OR_RETURN(bool row, count->Step());
    if (!row) return absl::InternalError("COUNT returned no row");
    const bool full = count->ColumnInt64(0) >= static_cast<int64_t>(kMaxTrustedKeys);
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("INSERT INTO trusted_keys (fingerprint, spki_der, label, added_at_us) "
                     "VALUES (?1, ?2, ?3, ?4)"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, record.fingerprint));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(2, record.spki_der));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(3, record.label));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(4, absl::ToUnixMicros(record.added_at)));
    if (full) {
      // A taken fingerprint is reported as such even when the list is full.
      CUSTODY_ASSIGN_OR_RETURN(Statement * exists,
                               db_->Prepare("SELECT 1 FROM trusted_keys WHERE fingerprint = ?1"));
      CUSTODY_RETURN_IF_ERROR(exists->BindBlob(1, record.fingerprint));
      CUSTODY_ASSIGN_OR_RETURN(bool taken, exists->Step());
      return taken ? TrustedKeyTaken() : TooManyTrustedKeys();
    }
    absl::Status status = stmt->Run();
    if (status.code() == absl::StatusCode::kAlreadyExists) return TrustedKeyTaken();
    return status;
  }

  absl::StatusOr<TrustedKeyRecord> Get(absl::string_view fingerprint) override {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("SELECT fingerprint, spki_der, label, added_at_us FROM trusted_keys "
                     "WHERE fingerprint = ?1"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, fingerprint));
    CUSTODY_ASSIGN_OR_RETURN(bool found, stmt->Step());
    if (!found) return NoTrustedKey();
    return Read(*stmt);
  }

  absl::Status Delete(absl::string_view fingerprint) override {
    CUSTODY_ASSIGN_OR_RETURN(Statement * stmt,
                             db_->Prepare("DELETE FROM trusted_keys WHERE fingerprint = ?1"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, fingerprint));
    CUSTODY_RETURN_IF_ERROR(stmt->Run());
    if (sqlite3_changes(db_->db()) == 0) return NoTrustedKey();
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<TrustedKeyRecord>> List() override {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("SELECT fingerprint, spki_der, label, added_at_us FROM trusted_keys "
                     "ORDER BY fingerprint"));
    std::vector<TrustedKeyRecord> out;
    while (true) {
      CUSTODY_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      out.push_back(Read(*stmt));
    }
    return out;
  }

 private:
  static TrustedKeyRecord Read(const Statement& row) {
    TrustedKeyRecord record;
    record.fingerprint = row.ColumnBlob(0);
    record.spki_der = row.ColumnBlob(1);
    record.label = row.ColumnText(2);
    record.added_at = absl::FromUnixMicros(row.ColumnInt64(3));
    return record;
  }

  Connection* db_;
};

absl::StatusOr<OwnedDeviceRecord> ReadOwnedDevice(const Statement& row, int first) {
  OwnedDeviceRecord record;
  record.guid = row.ColumnBlob(first);
  record.model = row.ColumnText(first + 1);
  record.serial = row.ColumnText(first + 2);
  record.voucher = row.ColumnBlob(first + 3);
  CUSTODY_ASSIGN_OR_RETURN(record.state, ParseOwnedDeviceState(row.ColumnText(first + 4)));
  record.imported_at = absl::FromUnixMicros(row.ColumnInt64(first + 5));
  record.updated_at = absl::FromUnixMicros(row.ColumnInt64(first + 6));
  record.registered_until = TimeFromColumn(row.ColumnInt64(first + 7));
  record.next_registration_at = TimeFromColumn(row.ColumnInt64(first + 8));
  record.registration_failures = row.ColumnInt64(first + 9);
  record.last_error = row.ColumnText(first + 10);
  record.replacement_guid = row.ColumnBlob(first + 11);
  record.replacement_voucher = row.ColumnBlob(first + 12);
  record.onboarded_at = TimeFromColumn(row.ColumnInt64(first + 13));
  record.enrolment = row.ColumnBlob(first + 14);
  record.revision = row.ColumnInt64(first + 15);
  return record;
}

class SqliteOwnedDevices final : public OwnedDeviceTable {
 public:
  explicit SqliteOwnedDevices(Connection* db) : db_(db) {}

  absl::Status Insert(const OwnedDeviceRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateOwnedDevice(record));
    CUSTODY_ASSIGN_OR_RETURN(int64_t taken, Find(record.guid));
    if (taken != 0) return OwnedDeviceTaken();
    if (!record.replacement_guid.empty()) {
      CUSTODY_ASSIGN_OR_RETURN(taken, Find(record.replacement_guid));
      if (taken != 0) return ReplacementGuidTaken();
    }
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("INSERT INTO owned_devices (guid, model, serial, voucher, state, "
                     "imported_at_us, updated_at_us, registered_until_us, "
                     "next_registration_at_us, registration_failures, last_error, "
                     "replacement_guid, replacement_voucher, onboarded_at_us, enrolment, "
                     "revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                     "?13, ?14, ?15, 1)"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, record.guid));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(2, record.model));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(3, record.serial));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(4, record.voucher));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(6, absl::ToUnixMicros(record.imported_at)));
    CUSTODY_RETURN_IF_ERROR(BindMutable(*stmt, record, 5));
    return stmt->Run();
  }

  absl::StatusOr<OwnedDeviceRecord> Get(absl::string_view guid) override {
    // The imported GUID first, then the replacement GUID.
    CUSTODY_ASSIGN_OR_RETURN(Statement * stmt,
                             db_->Prepare(Select(kOwnedDeviceColumns, "owned_devices",
                                                 "WHERE guid = ?1 OR replacement_guid = ?1 "
                                                 "ORDER BY guid = ?1 DESC LIMIT 1")
                                              .c_str()));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, guid));
    CUSTODY_ASSIGN_OR_RETURN(bool found, stmt->Step());
    if (!found) return NoOwnedDevice();
    return ReadOwnedDevice(*stmt, 0);
  }

  absl::StatusOr<int64_t> Update(const OwnedDeviceRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateOwnedDevice(record));
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * current,
        db_->Prepare("SELECT seq, revision FROM owned_devices WHERE guid = ?1"));
    CUSTODY_RETURN_IF_ERROR(current->BindBlob(1, record.guid));
    CUSTODY_ASSIGN_OR_RETURN(bool found, current->Step());
    if (!found) return NoOwnedDevice();
    const int64_t sequence = current->ColumnInt64(0);
    const int64_t revision = current->ColumnInt64(1);
    if (revision != record.revision) return OwnedDeviceChanged(revision, record.revision);
    if (!record.replacement_guid.empty()) {
      CUSTODY_ASSIGN_OR_RETURN(int64_t other, Find(record.replacement_guid));
      if (other != 0 && other != sequence) return ReplacementGuidTaken();
    }
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("UPDATE owned_devices SET state = ?5, updated_at_us = ?7, "
                     "registered_until_us = ?8, next_registration_at_us = ?9, "
                     "registration_failures = ?10, last_error = ?11, replacement_guid = ?12, "
                     "replacement_voucher = ?13, onboarded_at_us = ?14, enrolment = ?15, "
                     "revision = revision + 1 WHERE guid = ?1"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, record.guid));
    CUSTODY_RETURN_IF_ERROR(BindMutable(*stmt, record, 5));
    CUSTODY_RETURN_IF_ERROR(stmt->Run());
    return revision + 1;
  }

  absl::StatusOr<OwnedDevicePage> List(absl::string_view page_token, size_t page_size) override {
    return ReadPage<OwnedDevicePage>(db_,
                                     Select(absl::StrCat("seq, ", kOwnedDeviceColumns),
                                            "owned_devices", "WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                                         .c_str(),
                                     page_token, page_size,
                                     [](const Statement& row) { return ReadOwnedDevice(row, 1); });
  }

  absl::StatusOr<std::vector<OwnedDeviceRecord>> DueForRegistration(absl::Time now,
                                                                    size_t limit) override {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare(Select(kOwnedDeviceColumns, "owned_devices",
                            "WHERE state != 'onboarded' AND next_registration_at_us <= ?1 "
                            "ORDER BY next_registration_at_us, seq LIMIT ?2")
                         .c_str()));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(1, absl::ToUnixMicros(now)));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(2, static_cast<int64_t>(limit)));
    std::vector<OwnedDeviceRecord> out;
    while (true) {
      CUSTODY_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      CUSTODY_ASSIGN_OR_RETURN(OwnedDeviceRecord record, ReadOwnedDevice(*stmt, 0));
      out.push_back(std::move(record));
    }
    return out;
  }

  absl::StatusOr<int64_t> Count() override {
    CUSTODY_ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("SELECT COUNT(*) FROM owned_devices"));
    CUSTODY_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return absl::InternalError("COUNT returned no row");
    return stmt->ColumnInt64(0);
  }

 private:
  // Binds the fields an update may change, as parameters ?5 and ?7..?15.
  static absl::Status BindMutable(Statement& stmt, const OwnedDeviceRecord& record, int state) {
    CUSTODY_RETURN_IF_ERROR(stmt.BindText(state, OwnedDeviceStateName(record.state)));
    CUSTODY_RETURN_IF_ERROR(stmt.BindInt64(7, absl::ToUnixMicros(record.updated_at)));
    CUSTODY_RETURN_IF_ERROR(stmt.BindInt64(8, absl::ToUnixMicros(record.registered_until)));
    CUSTODY_RETURN_IF_ERROR(stmt.BindInt64(9, absl::ToUnixMicros(record.next_registration_at)));
    CUSTODY_RETURN_IF_ERROR(stmt.BindInt64(10, record.registration_failures));
    CUSTODY_RETURN_IF_ERROR(stmt.BindText(11, record.last_error));
    // NULL, not an empty blob, when unset: the column is UNIQUE.
    if (!record.replacement_guid.empty()) {
      CUSTODY_RETURN_IF_ERROR(stmt.BindBlob(12, record.replacement_guid));
    }
    CUSTODY_RETURN_IF_ERROR(stmt.BindBlob(13, record.replacement_voucher));
    CUSTODY_RETURN_IF_ERROR(stmt.BindInt64(14, absl::ToUnixMicros(record.onboarded_at)));
    CUSTODY_RETURN_IF_ERROR(stmt.BindBlob(15, record.enrolment));
    return absl::OkStatus();
  }

  // The row holding `guid` as its GUID or replacement GUID; 0 for none.
  absl::StatusOr<int64_t> Find(absl::string_view guid) {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("SELECT seq FROM owned_devices WHERE guid = ?1 OR replacement_guid = ?1 "
                     "LIMIT 1"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, guid));
    CUSTODY_ASSIGN_OR_RETURN(bool found, stmt->Step());
    return found ? stmt->ColumnInt64(0) : 0;
  }

  Connection* db_;
};

class SqliteSettings final : public SettingsTable {
 public:
  explicit SqliteSettings(Connection* db) : db_(db) {}

  absl::Status Put(absl::string_view scope, absl::string_view value) override {
    CUSTODY_RETURN_IF_ERROR(ValidateSettings(scope, value));
    if (value.empty()) {
      CUSTODY_ASSIGN_OR_RETURN(Statement * stmt,
                               db_->Prepare("DELETE FROM settings WHERE scope = ?1"));
      CUSTODY_RETURN_IF_ERROR(stmt->BindText(1, scope));
      return stmt->Run();
    }
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt, db_->Prepare("INSERT INTO settings (scope, value) VALUES (?1, ?2) "
                                       "ON CONFLICT (scope) DO UPDATE SET value = excluded.value"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(1, scope));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(2, value));
    return stmt->Run();
  }

  absl::StatusOr<std::string> Get(absl::string_view scope) override {
    CUSTODY_ASSIGN_OR_RETURN(Statement * stmt,
                             db_->Prepare("SELECT value FROM settings WHERE scope = ?1"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(1, scope));
    CUSTODY_ASSIGN_OR_RETURN(bool found, stmt->Step());
    if (!found) return NoSettings(scope);
    return stmt->ColumnBlob(0);
  }

 private:
  Connection* db_;
};

class SqliteTransaction final : public Transaction, VoucherTable, AuditTable, SupportTable {
 public:
  explicit SqliteTransaction(Connection* db)
      : db_(db), registrations_(db), trusted_keys_(db), owned_devices_(db), settings_(db) {}

  VoucherTable& vouchers() override { return *this; }
  AuditTable& audit() override { return *this; }
  SupportTable& support() override { return *this; }
  RegistrationTable& registrations() override { return registrations_; }
  TrustedKeyTable& trusted_keys() override { return trusted_keys_; }
  OwnedDeviceTable& owned_devices() override { return owned_devices_; }
  SettingsTable& settings() override { return settings_; }

  absl::Status Insert(const VoucherRecord& record) override {
    if (record.guid.empty()) return absl::InvalidArgumentError("voucher record has no GUID");
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("INSERT INTO vouchers (guid, model, serial, voucher, state, created_at_us, "
                     "updated_at_us, revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, record.guid));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(2, record.model));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(3, record.serial));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(4, record.voucher));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(5, VoucherStateName(record.state)));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(6, absl::ToUnixMicros(record.created_at)));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(7, absl::ToUnixMicros(record.updated_at)));
    return UniqueViolation(stmt->Run(), record);
  }

  absl::StatusOr<VoucherRecord> Get(absl::string_view guid) override {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare(Select(kVoucherColumns, "vouchers", "WHERE guid = ?1").c_str()));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, guid));
    CUSTODY_ASSIGN_OR_RETURN(bool found, stmt->Step());
    if (!found) return absl::NotFoundError("no voucher with this GUID");
    return ReadVoucher(*stmt, 0);
  }

  absl::StatusOr<VoucherRecord> GetBySerial(absl::string_view model,
                                            absl::string_view serial) override {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare(
            Select(kVoucherColumns, "vouchers", "WHERE model = ?1 AND serial = ?2").c_str()));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(1, model));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(2, serial));
    CUSTODY_ASSIGN_OR_RETURN(bool found, stmt->Step());
    if (!found) return absl::NotFoundError("no voucher with this model and serial");
    return ReadVoucher(*stmt, 0);
  }

  absl::StatusOr<int64_t> Update(const VoucherRecord& record) override {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("UPDATE vouchers SET voucher = ?1, state = ?2, updated_at_us = ?3, "
                     "revision = revision + 1 WHERE guid = ?4 AND revision = ?5"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(1, record.voucher));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(2, VoucherStateName(record.state)));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(3, absl::ToUnixMicros(record.updated_at)));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(4, record.guid));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(5, record.revision));
    CUSTODY_RETURN_IF_ERROR(stmt->Run());
    if (sqlite3_changes(db_->db()) == 1) return record.revision + 1;
    // Nothing changed: either no such GUID or a stale revision.
    CUSTODY_ASSIGN_OR_RETURN(VoucherRecord current, Get(record.guid));
    return absl::AbortedError(absl::StrCat("voucher changed concurrently (revision ",
                                           current.revision, ", expected ", record.revision,
                                           "); re-read and retry"));
  }

  absl::StatusOr<VoucherPage> List(absl::string_view page_token, size_t page_size) override {
    return ReadPage<VoucherPage>(db_,
                                 Select(absl::StrCat("seq, ", kVoucherColumns), "vouchers",
                                        "WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                                     .c_str(),
                                 page_token, page_size,
                                 [](const Statement& row) { return ReadVoucher(row, 1); });
  }

  absl::StatusOr<int64_t> Count() override {
    CUSTODY_ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("SELECT COUNT(*) FROM vouchers"));
    CUSTODY_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return absl::InternalError("COUNT returned no row");
    return stmt->ColumnInt64(0);
  }

  absl::StatusOr<AuditEvent> Append(const AuditEvent& event) override {
    CUSTODY_RETURN_IF_ERROR(ValidateAuditEvent(event));
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * last,
        db_->Prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
    CUSTODY_ASSIGN_OR_RETURN(bool has_last, last->Step());
    AuditEvent stored = event;
    stored.sequence = has_last ? last->ColumnInt64(0) + 1 : 1;
    stored.hash = AuditChainHash(has_last ? last->ColumnBlob(1) : AuditGenesisHash(), stored);
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * insert,
        db_->Prepare("INSERT INTO audit_log (seq, time_us, actor, action, target, details, hash) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    CUSTODY_RETURN_IF_ERROR(insert->BindInt64(1, stored.sequence));
    CUSTODY_RETURN_IF_ERROR(insert->BindInt64(2, absl::ToUnixMicros(stored.time)));
    CUSTODY_RETURN_IF_ERROR(insert->BindText(3, stored.actor));
    CUSTODY_RETURN_IF_ERROR(insert->BindText(4, stored.action));
    CUSTODY_RETURN_IF_ERROR(insert->BindText(5, stored.target));
    CUSTODY_RETURN_IF_ERROR(insert->BindText(6, stored.details));
    CUSTODY_RETURN_IF_ERROR(insert->BindBlob(7, stored.hash));
    CUSTODY_RETURN_IF_ERROR(insert->Run());
    return stored;
  }

  absl::StatusOr<std::vector<AuditEvent>> List(int64_t after, size_t limit) override {
    CUSTODY_RETURN_IF_ERROR(CheckPageSize(limit));
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("SELECT seq, time_us, actor, action, target, details, hash FROM audit_log "
                     "WHERE seq > ?1 ORDER BY seq LIMIT ?2"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(1, after));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(2, static_cast<int64_t>(limit)));
    std::vector<AuditEvent> events;
    while (true) {
      CUSTODY_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      AuditEvent event;
      event.sequence = stmt->ColumnInt64(0);
      event.time = absl::FromUnixMicros(stmt->ColumnInt64(1));
      event.actor = stmt->ColumnText(2);
      event.action = stmt->ColumnText(3);
      event.target = stmt->ColumnText(4);
      event.details = stmt->ColumnText(5);
      event.hash = stmt->ColumnBlob(6);
      events.push_back(std::move(event));
    }
    return events;
  }

  absl::Status Insert(const SupportDeclarationRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateSupportRecord(record));
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("INSERT INTO support_declarations (model, sequence, security_updates_until, "
                     "signed_declaration, declared_at_us) VALUES (?1, ?2, ?3, ?4, ?5)"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(1, record.model));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(2, record.sequence));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(3, record.security_updates_until));
    CUSTODY_RETURN_IF_ERROR(stmt->BindBlob(4, record.signed_declaration));
    CUSTODY_RETURN_IF_ERROR(stmt->BindInt64(5, absl::ToUnixMicros(record.declared_at)));
    absl::Status status = stmt->Run();
    if (status.code() == absl::StatusCode::kAlreadyExists) return SupportSequenceTaken(record);
    return status;
  }

  absl::StatusOr<SupportDeclarationRecord> Current(absl::string_view model) override {
    CUSTODY_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("SELECT model, sequence, security_updates_until, signed_declaration, "
                     "declared_at_us FROM support_declarations WHERE model = ?1 "
                     "ORDER BY sequence DESC LIMIT 1"));
    CUSTODY_RETURN_IF_ERROR(stmt->BindText(1, model));
    CUSTODY_ASSIGN_OR_RETURN(bool found, stmt->Step());
    if (!found) return NoSupportDeclaration(model);
    SupportDeclarationRecord record;
    record.model = stmt->ColumnText(0);
    record.sequence = stmt->ColumnInt64(1);
    record.security_updates_until = stmt->ColumnText(2);
    record.signed_declaration = stmt->ColumnBlob(3);
    record.declared_at = absl::FromUnixMicros(stmt->ColumnInt64(4));
    return record;
  }

 private:
  Connection* db_;
  SqliteRegistrations registrations_;
  SqliteTrustedKeys trusted_keys_;
  SqliteOwnedDevices owned_devices_;
  SqliteSettings settings_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<Connection> db) : db_(std::move(db)) {}

  absl::Status Transact(absl::FunctionRef<absl::Status(Transaction&)> fn) override {
    absl::MutexLock lock(&mu_);
    if (!sqlite3_get_autocommit(db_->db())) {
      // A failed rollback left a transaction open: end it before starting anew.
      CUSTODY_RETURN_IF_ERROR(db_->Exec("ROLLBACK"));
    }
    CUSTODY_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    SqliteTransaction tx(db_.get());
    absl::Status status = fn(tx);
    if (status.ok() && sqlite3_get_autocommit(db_->db())) {
      // SQLite rolled the transaction back by itself (disk full, I/O error) and
      // `fn` did not pass the error on: whatever ran after that was not part of
      // this transaction. Refuse rather than pretend it committed.
      status = absl::AbortedError("the database rolled the transaction back after an error; retry");
    }
    if (status.ok()) status = db_->Exec("COMMIT");
    if (!status.ok() && !sqlite3_get_autocommit(db_->db())) {
      // Still inside the transaction: undo everything it did.
      (void)db_->Exec("ROLLBACK");
    }
    return status;
  }

 private:
  absl::Mutex mu_;
  std::unique_ptr<Connection> db_ ABSL_GUARDED_BY(mu_);
};

// Creates the file owner-only, or checks that an existing one is.
absl::Status CreateOwnerOnly(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return absl::OkStatus();
  }
  if (errno != EEXIST) return absl::ErrnoToStatus(errno, absl::StrCat("creating ", path));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("inspecting ", path));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is accessible by group or others; run: chmod 600 ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CurrentSchemaVersion(Connection& db) {
  CUSTODY_RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
              "applied_at_us INTEGER NOT NULL)"));
  CUSTODY_ASSIGN_OR_RETURN(Statement * stmt,
                           db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  CUSTODY_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return absl::InternalError("schema version query returned no row");
  return stmt->ColumnInt64(0);
}

absl::Status Migrate(Connection& db, const std::string& path) {
  while (true) {
    // The version is read inside the write transaction, so two processes opening
    // the database at once cannot both apply the same migration.
    CUSTODY_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    absl::StatusOr<int64_t> version = CurrentSchemaVersion(db);
    if (!version.ok()) {
      (void)db.Exec("ROLLBACK");
      return version.status();
    }
    if (*version > kSqliteSchemaVersion) {
      (void)db.Exec("ROLLBACK");
      return absl::FailedPreconditionError(
          absl::StrCat(path, " has schema version ", *version, ", newer than this binary's ",
                       kSqliteSchemaVersion, "; run a newer release"));
    }
    if (*version == kSqliteSchemaVersion) return db.Exec("COMMIT");
    const int64_t next = *version + 1;
    absl::Status status = db.Exec(kMigrations[next - 1]);
    if (status.ok()) {
      absl::StatusOr<Statement*> record =
          db.Prepare("INSERT INTO schema_migrations (version, applied_at_us) VALUES (?1, 0)");
      status = record.ok() ? (*record)->BindInt64(1, next) : record.status();
      if (status.ok()) status = (*record)->Run();
    }
    if (status.ok()) status = db.Exec("COMMIT");
    if (!status.ok()) {
      (void)db.Exec("ROLLBACK");
      return Annotate(status, absl::StrCat("applying schema migration ", next, " to ", path));
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       const SqliteOptions& options) {
  CUSTODY_RETURN_IF_ERROR(CreateOwnerOnly(path));
  CUSTODY_ASSIGN_OR_RETURN(std::unique_ptr<Connection> db, Connection::Open(path, false));
  sqlite3_busy_timeout(db->db(), static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  // Reading the journal mode also checks that the file is a database.
  CUSTODY_ASSIGN_OR_RETURN(Statement * wal, db->Prepare("PRAGMA journal_mode=WAL"));
  CUSTODY_ASSIGN_OR_RETURN(bool row, wal->Step());
  if (!row || wal->ColumnText(0) != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot enable WAL mode"));
  }
  CUSTODY_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL"));
  CUSTODY_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  CUSTODY_RETURN_IF_ERROR(Migrate(*db, path));
  return std::unique_ptr<Store>(new SqliteStore(std::move(db)));
}

}  // namespace custody::storage
