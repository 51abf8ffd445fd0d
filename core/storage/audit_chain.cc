#include "core/storage/audit_chain.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/hash.h"

namespace custody::storage {
namespace {

void AppendU64(std::string* out, uint64_t value) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(value >> (8 * i)));
}

void AppendField(std::string* out, absl::string_view field) {
  for (int i = 3; i >= 0; --i) {
    out->push_back(static_cast<char>(static_cast<uint64_t>(field.size()) >> (8 * i)));
  }
  out->append(field.data(), field.size());
}

}  // namespace

std::string AuditGenesisHash() { return std::string(32, '\0'); }

std::string AuditEventBytes(const AuditEvent& event) {
  std::string out;
  AppendU64(&out, static_cast<uint64_t>(event.sequence));
  AppendU64(&out, static_cast<uint64_t>(absl::ToUnixMicros(event.time)));
  AppendField(&out, event.actor);
  AppendField(&out, event.action);
  AppendField(&out, event.target);
  AppendField(&out, event.details);
  return out;
}

std::string AuditChainHash(absl::string_view previous_hash, const AuditEvent& event) {
  return crypto::Sha256(absl::StrCat(previous_hash, AuditEventBytes(event)));
}

absl::Status ValidateAuditEvent(const AuditEvent& event) {
  if (event.actor.empty() || event.action.empty()) {
    return absl::InvalidArgumentError("audit event needs an actor and an action");
  }
  for (const std::string* field : {&event.actor, &event.action, &event.target, &event.details}) {
    if (field->size() > kMaxAuditFieldLength) {
      return absl::InvalidArgumentError(
          absl::StrCat("audit event field exceeds ", kMaxAuditFieldLength, " bytes"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> VerifyAuditChain(Store& store) {
  std::string previous = AuditGenesisHash();
  int64_t count = 0;
  while (true) {
    std::vector<AuditEvent> events;
    CUSTODY_RETURN_IF_ERROR(store.Transact([&](Transaction& tx) -> absl::Status {
      CUSTODY_ASSIGN_OR_RETURN(events, tx.audit().List(count, kMaxPageSize));
      return absl::OkStatus();
    }));
    if (events.empty()) return count;
    for (const AuditEvent& event : events) {
      if (event.sequence != count + 1) {
        return absl::DataLossError(absl::StrCat("audit log: event ", count + 1,
                                                " is missing (found ", event.sequence, ")"));
      }
      previous = AuditChainHash(previous, event);
      if (!crypto::ConstantTimeEquals(previous, event.hash)) {
        return absl::DataLossError(
            absl::StrCat("audit log: event ", event.sequence, " does not match its hash chain"));
      }
      ++count;
    }
  }
}

}  // namespace custody::storage
