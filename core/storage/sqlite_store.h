// The SQLite store: the embedded default (docs/storage.md).
//
// One database file, created with mode 0600, in WAL mode with synchronous=FULL:
// a committed transaction survives a process crash or a power cut. Every statement
// is prepared with bound parameters. The schema is versioned: Open applies the
// migrations this binary knows, each in its own transaction, and refuses a database
// whose schema is newer than the binary.

#ifndef CUSTODY_CORE_STORAGE_SQLITE_STORE_H_
#define CUSTODY_CORE_STORAGE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/storage/store.h"

namespace custody::storage {

// The schema version this binary writes and understands.
inline constexpr int kSqliteSchemaVersion = 4;

struct SqliteOptions {
  // How long a statement waits for a lock held by another process before
  // failing with UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(5);
};

// Opens or creates the database at `path`. FAILED_PRECONDITION when the schema is
// newer than kSqliteSchemaVersion or the file cannot be opened for writing;
// DATA_LOSS when it is not a database.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       const SqliteOptions& options = {});

}  // namespace custody::storage

#endif  // CUSTODY_CORE_STORAGE_SQLITE_STORE_H_
