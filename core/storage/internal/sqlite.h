// RAII wrappers for SQLite handles, and SQLite errors as Status. Internal to
// core/storage: only sqlite_store.cc and its tests use them.
//
// Statements are always prepared with bound parameters; no SQL is ever built from
// data. Not thread-safe: the owner serializes use of a connection.

#ifndef CUSTODY_CORE_STORAGE_INTERNAL_SQLITE_H_
#define CUSTODY_CORE_STORAGE_INTERNAL_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace custody::storage::internal {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using SqliteDbPtr = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

// Maps an SQLite result code to a Status with `what` and SQLite's message.
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what);

// A prepared statement, reset and cleared of bindings before each use.
class Statement {
 public:
  explicit Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  absl::Status BindText(int index, absl::string_view value);
  absl::Status BindBlob(int index, absl::string_view value);
  absl::Status BindInt64(int index, int64_t value);
  // True when a row is available, false when the statement is done.
  absl::StatusOr<bool> Step();
  // Steps a statement that returns no rows.
  absl::Status Run();

  int64_t ColumnInt64(int index) const;
  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;

 private:
  friend class Connection;
  void Reset();

  sqlite3* db_;
  sqlite3_stmt* stmt_;  // Owned by the Connection's cache.
};

// A connection with a cache of prepared statements keyed by their SQL.
class Connection {
 public:
  // Opens (creating if asked) the database at `path`.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, bool create);

  // Runs SQL without parameters (schema, PRAGMA, BEGIN/COMMIT), after resetting
  // every cached statement.
  absl::Status Exec(const char* sql);
  // The cached statement for `sql`, reset and ready to bind.
  absl::StatusOr<Statement*> Prepare(const char* sql);
  sqlite3* db() const { return db_.get(); }

 private:
  explicit Connection(SqliteDbPtr db) : db_(std::move(db)) {}

  // Declared first so statements are finalized before the database closes.
  SqliteDbPtr db_;
  std::map<std::string, std::pair<SqliteStmtPtr, std::unique_ptr<Statement>>> cache_;
};

}  // namespace custody::storage::internal

#endif  // CUSTODY_CORE_STORAGE_INTERNAL_SQLITE_H_
