// Server state behind interfaces split by concern, with one transaction across
// them (docs/storage.md).
//
// A Store is one database. Everything happens inside Transact: the function's writes
// to every table commit together, or, if it returns an error (or the process dies),
// none of them do. That is what lets a service record a voucher and its audit event
// as one step, so that a crash never leaves one without the other.
//
// The interfaces carry no backend-specific semantics: times and revisions are
// supplied by the caller or the store's own counters, identifiers are bytes, and
// ordering is by an insertion sequence that every SQL engine offers. The in-memory
// store (tests) and the SQLite store (the embedded default) pass one conformance
// suite (store_conformance_test); a PostgreSQL store will follow.
//
// Status codes: ALREADY_EXISTS for a unique key that is taken, NOT_FOUND for an
// unknown key, ABORTED for a stale revision (re-read and retry), INVALID_ARGUMENT for
// a malformed request (bad page token, empty key), UNAVAILABLE when the database is
// busy beyond its timeout, DATA_LOSS for a corrupt database, INTERNAL otherwise.
// No header of this package includes SQLite.

#ifndef CUSTODY_CORE_STORAGE_STORE_H_
#define CUSTODY_CORE_STORAGE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace custody::storage {

// Where a voucher is in its life, as seen by the service that stores it.
enum class VoucherState {
  kManufactured,  // Created at DI; held by the manufacturer.
  kTransferred,   // Extended to a buyer and exported; the manufacturer keeps a copy.
};

absl::string_view VoucherStateName(VoucherState state);
absl::StatusOr<VoucherState> ParseVoucherState(absl::string_view name);

struct VoucherRecord {
  std::string guid;   // 16 bytes; unique.
  std::string model;  // (model, serial) is unique.
  std::string serial;
  std::string voucher;  // The serialized OwnershipVoucher, exact bytes.
  VoucherState state = VoucherState::kManufactured;
  absl::Time created_at;
  absl::Time updated_at;
  // Set by the store: 1 on insert, +1 on every update.
  int64_t revision = 0;
};

struct VoucherPage {
  std::vector<VoucherRecord> records;
  // Pass to the next List call; empty when there are no more records.
  std::string next_page_token;
};

// The largest page List returns.
inline constexpr size_t kMaxPageSize = 1000;

class VoucherTable {
 public:
  virtual ~VoucherTable() = default;

  // Stores a new record (its revision becomes 1). ALREADY_EXISTS when the GUID or
  // the (model, serial) pair is taken.
  virtual absl::Status Insert(const VoucherRecord& record) = 0;
  // NOT_FOUND when there is no such GUID.
  virtual absl::StatusOr<VoucherRecord> Get(absl::string_view guid) = 0;
  virtual absl::StatusOr<VoucherRecord> GetBySerial(absl::string_view model,
                                                    absl::string_view serial) = 0;
  // Replaces voucher, state and updated_at of `record.guid` if its stored revision
  // is `record.revision`, and returns the new revision. NOT_FOUND, or ABORTED when
  // another writer got there first.
  virtual absl::StatusOr<int64_t> Update(const VoucherRecord& record) = 0;
  // Records in insertion order, at most `page_size` (1..kMaxPageSize) of them,
  // starting after `page_token` (empty: from the start). INVALID_ARGUMENT for a
  // malformed token.
  virtual absl::StatusOr<VoucherPage> List(absl::string_view page_token, size_t page_size) = 0;
  virtual absl::StatusOr<int64_t> Count() = 0;
};

// One security-relevant event. The log is append-only and hash-chained:
// hash(n) = SHA-256(hash(n-1) || AuditEventBytes(event n)), hash(0) = 32 zero bytes
// (audit_chain.h), so removing, reordering or editing an event is detectable.
struct AuditEvent {
  int64_t sequence = 0;  // Assigned by the log: 1, 2, 3, ...
  absl::Time time;
  std::string actor;    // Who: "admin:<certificate CN> (operator)", "device:<guid>", ...
  std::string action;   // What: "voucher.extend", "di.complete", ...
  std::string target;   // On what: a GUID in hex, a model name, ...
  std::string details;  // Free text; never secrets.
  std::string hash;     // Set by the log.
};

// Limits on an audit event's text fields.
inline constexpr size_t kMaxAuditFieldLength = 4096;

class AuditTable {
 public:
  virtual ~AuditTable() = default;
  // Appends `event` (sequence and hash are assigned) and returns it as stored.
  // INVALID_ARGUMENT for an empty actor or action or a field over
  // kMaxAuditFieldLength.
  virtual absl::StatusOr<AuditEvent> Append(const AuditEvent& event) = 0;
  // Events with sequence > `after`, in order, at most `limit` (1..kMaxPageSize).
  virtual absl::StatusOr<std::vector<AuditEvent>> List(int64_t after, size_t limit) = 0;
};

// One signed support-period declaration (core/protocol/support_declaration.h). The
// table keeps every declaration ever made; the one in force is a model's highest
// sequence.
struct SupportDeclarationRecord {
  std::string model;
  int64_t sequence = 0;                // 1, 2, 3, ... per model.
  std::string security_updates_until;  // "YYYY-MM-DD", as in the signed payload.
  std::string signed_declaration;      // The serialized SignedPayload, exact bytes.
  absl::Time declared_at;
};

class SupportTable {
 public:
  virtual ~SupportTable() = default;
  // Stores a declaration. ALREADY_EXISTS when the model already has this sequence;
  // INVALID_ARGUMENT for an empty model or a sequence below 1.
  virtual absl::Status Insert(const SupportDeclarationRecord& record) = 0;
  // The model's declaration with the highest sequence. NOT_FOUND when it has none.
  virtual absl::StatusOr<SupportDeclarationRecord> Current(absl::string_view model) = 0;
};

// A rendezvous registration (TO0): where the device of `guid` finds its owner,
// until `expires_at`. One per GUID; a new registration replaces the old one.
struct RegistrationRecord {
  std::string guid;        // 16 bytes; unique.
  std::string voucher;     // The registered OwnershipVoucher, exact bytes.
  std::string device_key;  // The device attestation key (canonical SPKI DER).
  // SHA-256 fingerprints of the voucher's owner keys (entry 0 first), 32 bytes
  // each: which owner registered, and where it sits in the chain.
  std::string owner_chain;
  std::string address_record;  // The owner-signed AddressRecord (a serialized SignedPayload).
  absl::Time registered_at;
  absl::Time expires_at;
};

struct RegistrationPage {
  std::vector<RegistrationRecord> records;
  // Pass to the next List call; empty when there are no more records.
  std::string next_page_token;
};

class RegistrationTable {
 public:
  virtual ~RegistrationTable() = default;
  // Stores `record`, replacing the GUID's registration if there is one (the
  // replacement keeps the original's place in List order). INVALID_ARGUMENT for an
  // empty GUID or an expiry not after the registration time.
  virtual absl::Status Put(const RegistrationRecord& record) = 0;
  // NOT_FOUND when the GUID has no registration (expired ones are still returned
  // until swept: the caller compares expires_at with its clock).
  virtual absl::StatusOr<RegistrationRecord> Get(absl::string_view guid) = 0;
  // NOT_FOUND when the GUID has no registration.
  virtual absl::Status Delete(absl::string_view guid) = 0;
  // In order of first registration, at most `page_size` (1..kMaxPageSize).
  virtual absl::StatusOr<RegistrationPage> List(absl::string_view page_token, size_t page_size) = 0;
  // Deletes at most `limit` registrations with expires_at <= `now`, oldest expiry
  // first, and returns how many it deleted.
  virtual absl::StatusOr<int64_t> DeleteExpired(absl::Time now, size_t limit) = 0;
  virtual absl::StatusOr<int64_t> Count() = 0;
};

// A manufacturer key the rendezvous service trusts: vouchers whose header names
// another key are refused (deny by default).
struct TrustedKeyRecord {
  std::string fingerprint;  // SHA-256 of spki_der, 32 bytes; unique.
  std::string spki_der;     // Canonical SubjectPublicKeyInfo.
  std::string label;        // The operator's name for it, at most kMaxAuditFieldLength.
  absl::Time added_at;
};

// The most trusted keys a store keeps.
inline constexpr size_t kMaxTrustedKeys = 1000;

class TrustedKeyTable {
 public:
  virtual ~TrustedKeyTable() = default;
  // ALREADY_EXISTS when the fingerprint is stored; INVALID_ARGUMENT for a
  // fingerprint that is not 32 bytes, an empty key or an over-long label;
  // RESOURCE_EXHAUSTED at kMaxTrustedKeys.
  virtual absl::Status Insert(const TrustedKeyRecord& record) = 0;
  // NOT_FOUND when the fingerprint is not trusted.
  virtual absl::StatusOr<TrustedKeyRecord> Get(absl::string_view fingerprint) = 0;
  // NOT_FOUND when the fingerprint is not trusted.
  virtual absl::Status Delete(absl::string_view fingerprint) = 0;
  // Every trusted key, in order of fingerprint.
  virtual absl::StatusOr<std::vector<TrustedKeyRecord>> List() = 0;
};

// Where a device is in its life, as seen by its owner.
enum class OwnedDeviceState {
  kImported,    // The voucher is imported; no rendezvous registration yet.
  kRegistered,  // Registered at the rendezvous service (TO0); waiting for the device.
  kOnboarded,   // TO2 completed: the replacement voucher is kept.
};

absl::string_view OwnedDeviceStateName(OwnedDeviceState state);
absl::StatusOr<OwnedDeviceState> ParseOwnedDeviceState(absl::string_view name);

// A device whose voucher the owner holds.
struct OwnedDeviceRecord {
  std::string guid;  // The imported voucher's GUID, 16 bytes; unique.
  std::string model;
  std::string serial;
  std::string voucher;  // The imported OwnershipVoucher, exact bytes.
  OwnedDeviceState state = OwnedDeviceState::kImported;
  absl::Time imported_at;
  absl::Time updated_at;
  // Automatic TO0: the registration's expiry (InfinitePast: none), when to run
  // next, how many attempts in a row failed and the last failure.
  absl::Time registered_until = absl::InfinitePast();
  absl::Time next_registration_at;
  int64_t registration_failures = 0;
  std::string last_error;
  // Set at onboarding: the GUID given to the device (unique when set), the
  // replacement voucher (exact bytes), and the owner's record of the enrolment
  // (opaque to the store).
  std::string replacement_guid;
  std::string replacement_voucher;
  absl::Time onboarded_at = absl::InfinitePast();
  std::string enrolment;
  // Set by the store: 1 on insert, +1 on every update.
  int64_t revision = 0;
};

struct OwnedDevicePage {
  std::vector<OwnedDeviceRecord> records;
  std::string next_page_token;
};

class OwnedDeviceTable {
 public:
  virtual ~OwnedDeviceTable() = default;
  // ALREADY_EXISTS when the GUID (or the replacement GUID) is taken;
  // INVALID_ARGUMENT for a GUID that is not 16 bytes.
  virtual absl::Status Insert(const OwnedDeviceRecord& record) = 0;
  // By the imported voucher's GUID, or else by the replacement GUID. NOT_FOUND
  // when neither matches.
  virtual absl::StatusOr<OwnedDeviceRecord> Get(absl::string_view guid) = 0;
  // Replaces every field but guid, model, serial, voucher and imported_at if the
  // stored revision is `record.revision`, and returns the new revision. NOT_FOUND;
  // ABORTED when another writer got there first; ALREADY_EXISTS when the
  // replacement GUID is taken.
  virtual absl::StatusOr<int64_t> Update(const OwnedDeviceRecord& record) = 0;
  // In import order, at most `page_size` (1..kMaxPageSize).
  virtual absl::StatusOr<OwnedDevicePage> List(absl::string_view page_token, size_t page_size) = 0;
  // Devices not yet onboarded whose next_registration_at is at or before `now`,
  // earliest first, at most `limit`.
  virtual absl::StatusOr<std::vector<OwnedDeviceRecord>> DueForRegistration(absl::Time now,
                                                                            size_t limit) = 0;
  virtual absl::StatusOr<int64_t> Count() = 0;
};

// Opaque values under a scope name ("model:gw-100", "device:<guid hex>"): the
// owner's settings for its devices.
inline constexpr size_t kMaxScopeLength = 128;
inline constexpr size_t kMaxSettingsValueSize = 128 * 1024;

class SettingsTable {
 public:
  virtual ~SettingsTable() = default;
  // Stores `value` under `scope`, replacing what was there; an empty value
  // removes the scope. INVALID_ARGUMENT for an empty or over-long scope or an
  // over-long value.
  virtual absl::Status Put(absl::string_view scope, absl::string_view value) = 0;
  // NOT_FOUND when nothing is stored under `scope`.
  virtual absl::StatusOr<std::string> Get(absl::string_view scope) = 0;
};

class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual VoucherTable& vouchers() = 0;
  virtual AuditTable& audit() = 0;
  virtual SupportTable& support() = 0;
  virtual RegistrationTable& registrations() = 0;
  virtual TrustedKeyTable& trusted_keys() = 0;
  virtual OwnedDeviceTable& owned_devices() = 0;
  virtual SettingsTable& settings() = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Runs `fn` in one transaction and commits it if `fn` returns OK; otherwise rolls
  // everything back and returns `fn`'s status. Transactions on one Store are
  // serialized. Thread-safe.
  virtual absl::Status Transact(absl::FunctionRef<absl::Status(Transaction&)> fn) = 0;
};

}  // namespace custody::storage

#endif  // CUSTODY_CORE_STORAGE_STORE_H_
