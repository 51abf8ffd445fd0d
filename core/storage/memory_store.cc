#include "core/storage/memory_store.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/base/status.h"
#include "core/storage/audit_chain.h"
#include "core/storage/owner_rules.h"
#include "core/storage/page_token.h"
#include "core/storage/rendezvous_rules.h"
#include "core/storage/support_rules.h"

namespace custody::storage {
namespace {

struct State {
  // Insertion sequence -> record; guid -> sequence; (model, serial) -> sequence.
  std::map<int64_t, VoucherRecord> vouchers;
  std::map<std::string, int64_t> by_guid;
  std::map<std::pair<std::string, std::string>, int64_t> by_serial;
  int64_t next_voucher_sequence = 1;
  std::vector<AuditEvent> audit;
  // (model, sequence) -> declaration.
  std::map<std::pair<std::string, int64_t>, SupportDeclarationRecord> support;
  // Insertion sequence -> registration; guid -> sequence.
  std::map<int64_t, RegistrationRecord> registrations;
  std::map<std::string, int64_t> registration_by_guid;
  int64_t next_registration_sequence = 1;
  // fingerprint -> key.
  std::map<std::string, TrustedKeyRecord> trusted_keys;
  // Insertion sequence -> device; GUID and replacement GUID -> sequence.
  std::map<int64_t, OwnedDeviceRecord> owned_devices;
  std::map<std::string, int64_t> owned_by_guid;
  std::map<std::string, int64_t> owned_by_replacement;
  int64_t next_owned_sequence = 1;
  std::map<std::string, std::string> settings;
};

// The page after `page_token` of records kept by insertion sequence.
template <typename Page, typename Record>
absl::StatusOr<Page> PageOf(const std::map<int64_t, Record>& records, absl::string_view page_token,
                            size_t page_size) {
  CUSTODY_RETURN_IF_ERROR(CheckPageSize(page_size));
  CUSTODY_ASSIGN_OR_RETURN(int64_t after, ParsePageToken(page_token));
  Page page;
  for (auto it = records.upper_bound(after); it != records.end() && page.records.size() < page_size;
       ++it) {
    page.records.push_back(it->second);
    if (page.records.size() == page_size && std::next(it) != records.end()) {
      page.next_page_token = MakePageToken(it->first);
    }
  }
  return page;
}

class MemoryRegistrations final : public RegistrationTable {
 public:
  explicit MemoryRegistrations(State* state) : state_(state) {}

  absl::Status Put(const RegistrationRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateRegistration(record));
    auto it = state_->registration_by_guid.find(record.guid);
    if (it != state_->registration_by_guid.end()) {
      state_->registrations[it->second] = record;
      return absl::OkStatus();
    }
    const int64_t sequence = state_->next_registration_sequence++;
    state_->registrations[sequence] = record;
    state_->registration_by_guid[record.guid] = sequence;
    return absl::OkStatus();
  }

  absl::StatusOr<RegistrationRecord> Get(absl::string_view guid) override {
    auto it = state_->registration_by_guid.find(std::string(guid));
    if (it == state_->registration_by_guid.end()) return NoRegistration();
    return state_->registrations.at(it->second);
  }

  absl::Status Delete(absl::string_view guid) override {
    auto it = state_->registration_by_guid.find(std::string(guid));
    if (it == state_->registration_by_guid.end()) return NoRegistration();
    state_->registrations.erase(it->second);
    state_->registration_by_guid.erase(it);
    return absl::OkStatus();
  }

  absl::StatusOr<RegistrationPage> List(absl::string_view page_token, size_t page_size) override {
    return PageOf<RegistrationPage>(state_->registrations, page_token, page_size);
  }

  absl::StatusOr<int64_t> DeleteExpired(absl::Time now, size_t limit) override {
    // Oldest expiry first, as the SQL backends do.
    std::vector<std::pair<absl::Time, int64_t>> expired;
    for (const auto& [sequence, record] : state_->registrations) {
      if (record.expires_at <= now) expired.emplace_back(record.expires_at, sequence);
    }
    std::sort(expired.begin(), expired.end());
    if (expired.size() > limit) expired.resize(limit);
    for (const auto& [expiry, sequence] : expired) {
      state_->registration_by_guid.erase(state_->registrations.at(sequence).guid);
      state_->registrations.erase(sequence);
    }
    return static_cast<int64_t>(expired.size());
  }

  absl::StatusOr<int64_t> Count() override {
    return static_cast<int64_t>(state_->registrations.size());
  }

 private:
  State* state_;
};

class MemoryTrustedKeys final : public TrustedKeyTable {
 public:
  explicit MemoryTrustedKeys(State* state) : state_(state) {}

  absl::Status Insert(const TrustedKeyRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateTrustedKey(record));
    if (state_->trusted_keys.count(record.fingerprint) > 0) return TrustedKeyTaken();
    if (state_->trusted_keys.size() >= kMaxTrustedKeys) return TooManyTrustedKeys();
    state_->trusted_keys[record.fingerprint] = record;
    return absl::OkStatus();
  }

  absl::StatusOr<TrustedKeyRecord> Get(absl::string_view fingerprint) override {
    auto it = state_->trusted_keys.find(std::string(fingerprint));
    if (it == state_->trusted_keys.end()) return NoTrustedKey();
    return it->second;
  }

  absl::Status Delete(absl::string_view fingerprint) override {
    if (state_->trusted_keys.erase(std::string(fingerprint)) == 0) return NoTrustedKey();
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<TrustedKeyRecord>> List() override {
    std::vector<TrustedKeyRecord> out;
    for (const auto& [fingerprint, record] : state_->trusted_keys) out.push_back(record);
    return out;
  }

 private:
  State* state_;
};

class MemoryOwnedDevices final : public OwnedDeviceTable {
 public:
  explicit MemoryOwnedDevices(State* state) : state_(state) {}

  absl::Status Insert(const OwnedDeviceRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateOwnedDevice(record));
    if (Find(record.guid) != 0) return OwnedDeviceTaken();
    if (!record.replacement_guid.empty() && Find(record.replacement_guid) != 0) {
      return ReplacementGuidTaken();
    }
    const int64_t sequence = state_->next_owned_sequence++;
    OwnedDeviceRecord stored = record;
    stored.revision = 1;
    state_->owned_devices[sequence] = std::move(stored);
    state_->owned_by_guid[record.guid] = sequence;
    if (!record.replacement_guid.empty()) {
      state_->owned_by_replacement[record.replacement_guid] = sequence;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<OwnedDeviceRecord> Get(absl::string_view guid) override {
    const int64_t sequence = Find(std::string(guid));
    if (sequence == 0) return NoOwnedDevice();
    return state_->owned_devices.at(sequence);
  }

  absl::StatusOr<int64_t> Update(const OwnedDeviceRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateOwnedDevice(record));
    auto it = state_->owned_by_guid.find(record.guid);
    if (it == state_->owned_by_guid.end()) return NoOwnedDevice();
    OwnedDeviceRecord& stored = state_->owned_devices.at(it->second);
    if (stored.revision != record.revision) {
      return OwnedDeviceChanged(stored.revision, record.revision);
    }
    if (record.replacement_guid != stored.replacement_guid) {
      if (!record.replacement_guid.empty()) {
        const int64_t other = Find(record.replacement_guid);
        if (other != 0 && other != it->second) return ReplacementGuidTaken();
      }
      state_->owned_by_replacement.erase(stored.replacement_guid);
      if (!record.replacement_guid.empty()) {
        state_->owned_by_replacement[record.replacement_guid] = it->second;
      }
    }
    OwnedDeviceRecord updated = record;
    updated.model = stored.model;
    updated.serial = stored.serial;
    updated.voucher = stored.voucher;
    updated.imported_at = stored.imported_at;
    updated.revision = stored.revision + 1;
    stored = std::move(updated);
    return stored.revision;
  }

  absl::StatusOr<OwnedDevicePage> List(absl::string_view page_token, size_t page_size) override {
    return PageOf<OwnedDevicePage>(state_->owned_devices, page_token, page_size);
  }

  absl::StatusOr<std::vector<OwnedDeviceRecord>> DueForRegistration(absl::Time now,
                                                                    size_t limit) override {
    std::vector<std::pair<absl::Time, int64_t>> due;
    for (const auto& [sequence, record] : state_->owned_devices) {
      if (record.state != OwnedDeviceState::kOnboarded && record.next_registration_at <= now) {
        due.emplace_back(record.next_registration_at, sequence);
      }
    }
    std::sort(due.begin(), due.end());
    if (due.size() > limit) due.resize(limit);
    std::vector<OwnedDeviceRecord> out;
    for (const auto& [when, sequence] : due) out.push_back(state_->owned_devices.at(sequence));
    return out;
  }

  absl::StatusOr<int64_t> Count() override {
    return static_cast<int64_t>(state_->owned_devices.size());
  }

 private:
  // The sequence of the device with this GUID or replacement GUID; 0 for none.
  int64_t Find(const std::string& guid) const {
    auto it = state_->owned_by_guid.find(guid);
    if (it != state_->owned_by_guid.end()) return it->second;
    it = state_->owned_by_replacement.find(guid);
    return it == state_->owned_by_replacement.end() ? 0 : it->second;
  }

  State* state_;
};

class MemorySettings final : public SettingsTable {
 public:
  explicit MemorySettings(State* state) : state_(state) {}

  absl::Status Put(absl::string_view scope, absl::string_view value) override {
    CUSTODY_RETURN_IF_ERROR(ValidateSettings(scope, value));
    if (value.empty()) {
      state_->settings.erase(std::string(scope));
    } else {
      state_->settings[std::string(scope)] = std::string(value);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Get(absl::string_view scope) override {
    auto it = state_->settings.find(std::string(scope));
    if (it == state_->settings.end()) return NoSettings(scope);
    return it->second;
  }

 private:
  State* state_;
};

class MemoryTransaction final : public Transaction, VoucherTable, AuditTable, SupportTable {
 public:
  explicit MemoryTransaction(State* state)
      : state_(state),
        registrations_(state),
        trusted_keys_(state),
        owned_devices_(state),
        settings_(state) {}

  VoucherTable& vouchers() override { return *this; }
  AuditTable& audit() override { return *this; }
  SupportTable& support() override { return *this; }
  RegistrationTable& registrations() override { return registrations_; }
  TrustedKeyTable& trusted_keys() override { return trusted_keys_; }
  OwnedDeviceTable& owned_devices() override { return owned_devices_; }
  SettingsTable& settings() override { return settings_; }

  absl::Status Insert(const VoucherRecord& record) override {
    if (record.guid.empty()) return absl::InvalidArgumentError("voucher record has no GUID");
    if (state_->by_guid.count(record.guid) > 0) {
      return absl::AlreadyExistsError("a voucher with this GUID is already stored");
    }
    if (state_->by_serial.count({record.model, record.serial}) > 0) {
      return absl::AlreadyExistsError(absl::StrCat("a voucher for model \"", record.model,
                                                   "\" serial \"", record.serial,
                                                   "\" is already stored"));
    }
    const int64_t sequence = state_->next_voucher_sequence++;
    VoucherRecord stored = record;
    stored.revision = 1;
    state_->vouchers[sequence] = std::move(stored);
    state_->by_guid[record.guid] = sequence;
    state_->by_serial[{record.model, record.serial}] = sequence;
    return absl::OkStatus();
  }

  absl::StatusOr<VoucherRecord> Get(absl::string_view guid) override {
    auto it = state_->by_guid.find(std::string(guid));
    if (it == state_->by_guid.end()) return absl::NotFoundError("no voucher with this GUID");
    return state_->vouchers.at(it->second);
  }

  absl::StatusOr<VoucherRecord> GetBySerial(absl::string_view model,
                                            absl::string_view serial) override {
    auto it = state_->by_serial.find({std::string(model), std::string(serial)});
    if (it == state_->by_serial.end()) {
      return absl::NotFoundError("no voucher with this model and serial");
    }
    return state_->vouchers.at(it->second);
  }

  absl::StatusOr<int64_t> Update(const VoucherRecord& record) override {
    auto it = state_->by_guid.find(record.guid);
    if (it == state_->by_guid.end()) return absl::NotFoundError("no voucher with this GUID");
    VoucherRecord& stored = state_->vouchers.at(it->second);
    if (stored.revision != record.revision) {
      return absl::AbortedError(absl::StrCat("voucher changed concurrently (revision ",
                                             stored.revision, ", expected ", record.revision,
                                             "); re-read and retry"));
    }
    stored.voucher = record.voucher;
    stored.state = record.state;
    stored.updated_at = record.updated_at;
    return ++stored.revision;
  }

  absl::StatusOr<VoucherPage> List(absl::string_view page_token, size_t page_size) override {
    return PageOf<VoucherPage>(state_->vouchers, page_token, page_size);
  }

  absl::StatusOr<int64_t> Count() override { return static_cast<int64_t>(state_->vouchers.size()); }

  absl::StatusOr<AuditEvent> Append(const AuditEvent& event) override {
    CUSTODY_RETURN_IF_ERROR(ValidateAuditEvent(event));
    AuditEvent stored = event;
    stored.sequence = static_cast<int64_t>(state_->audit.size()) + 1;
    stored.hash = AuditChainHash(
        state_->audit.empty() ? AuditGenesisHash() : state_->audit.back().hash, stored);
    state_->audit.push_back(stored);
    return stored;
  }

  absl::StatusOr<std::vector<AuditEvent>> List(int64_t after, size_t limit) override {
    CUSTODY_RETURN_IF_ERROR(CheckPageSize(limit));
    std::vector<AuditEvent> out;
    for (int64_t i = std::max<int64_t>(after, 0);
         i < static_cast<int64_t>(state_->audit.size()) && out.size() < limit; ++i) {
      out.push_back(state_->audit[i]);
    }
    return out;
  }

  absl::Status Insert(const SupportDeclarationRecord& record) override {
    CUSTODY_RETURN_IF_ERROR(ValidateSupportRecord(record));
    if (!state_->support.emplace(std::make_pair(record.model, record.sequence), record).second) {
      return SupportSequenceTaken(record);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<SupportDeclarationRecord> Current(absl::string_view model) override {
    // The last key before (model, +infinity) is the model's highest sequence.
    auto it = state_->support.upper_bound({std::string(model), INT64_MAX});
    if (it == state_->support.begin()) return NoSupportDeclaration(model);
    --it;
    if (it->first.first != model) return NoSupportDeclaration(model);
    return it->second;
  }

 private:
  State* state_;
  MemoryRegistrations registrations_;
  MemoryTrustedKeys trusted_keys_;
  MemoryOwnedDevices owned_devices_;
  MemorySettings settings_;
};

class MemoryStore final : public Store {
 public:
  absl::Status Transact(absl::FunctionRef<absl::Status(Transaction&)> fn) override {
    absl::MutexLock lock(&mu_);
    State working = state_;
    MemoryTransaction tx(&working);
    CUSTODY_RETURN_IF_ERROR(fn(tx));
    state_ = std::move(working);
    return absl::OkStatus();
  }

 private:
  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace custody::storage
