// The audit log's hash chain, shared by every store backend and by the verifier.

#ifndef CUSTODY_CORE_STORAGE_AUDIT_CHAIN_H_
#define CUSTODY_CORE_STORAGE_AUDIT_CHAIN_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/storage/store.h"

namespace custody::storage {

// The hash before the first event: 32 zero bytes.
std::string AuditGenesisHash();

// u64be(sequence) || u64be(time in Unix microseconds, two's complement)
// || for actor, action, target, details: u32be(length) || bytes.
std::string AuditEventBytes(const AuditEvent& event);

// SHA-256(previous_hash || AuditEventBytes(event)).
std::string AuditChainHash(absl::string_view previous_hash, const AuditEvent& event);

// Checks the fields an appended event must satisfy (see AuditTable::Append).
absl::Status ValidateAuditEvent(const AuditEvent& event);

// Reads the whole log and recomputes the chain. Returns the number of events, or
// DATA_LOSS naming the first event whose sequence or hash is wrong.
absl::StatusOr<int64_t> VerifyAuditChain(Store& store);

}  // namespace custody::storage

#endif  // CUSTODY_CORE_STORAGE_AUDIT_CHAIN_H_
