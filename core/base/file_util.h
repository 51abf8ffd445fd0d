// Crash-safe, bounded file I/O for credentials, keys and configuration.
//
// Writes are atomic: the bytes go to a temporary file in the same directory,
// which is fsynced, renamed over (or linked to) the target, and then the directory
// is fsynced. After a crash at any point the target holds either its old contents
// or the new ones, never a mix and never nothing.
//
// Errors map errno through absl::ErrnoToStatus (ENOENT -> NOT_FOUND, EEXIST ->
// ALREADY_EXISTS, EACCES -> PERMISSION_DENIED, ...), with the path and the step in
// the message. Thread-compatible: callers serialise writes to the same path.

#ifndef CUSTODY_CORE_BASE_FILE_UTIL_H_
#define CUSTODY_CORE_BASE_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/base/secret_bytes.h"

namespace custody {

enum class WriteMode {
  kReplace,    // Atomically replace whatever is there.
  kCreateNew,  // Fail with ALREADY_EXISTS if the target exists (atomic check).
};

// Called at each step of WriteFileAtomically, for fault-injection tests that kill
// the process between steps: "created", "written", "synced", "replaced",
// "directory_synced". Production callers pass none.
using WriteStepHook = void (*)(const char* step);

// Writes `contents` to `path` atomically with permission bits `mode`. The
// temporary file is a hidden ".custody-tmp.*" file in the same directory, removed
// on failure. If only the final directory sync fails, the error is returned even
// though the new file is in place: its durability is then unknown.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode,
                                 WriteMode write_mode = WriteMode::kReplace,
                                 WriteStepHook hook = nullptr);

// Removes the temporary files that writes interrupted by a crash left in `dir`
// (".custody-tmp.*") and that were last modified before `modified_before`, so that
// the file of a write still in progress is never touched. Returns how many.
absl::StatusOr<int> RemoveStaleTemporaryFiles(const std::string& dir, absl::Time modified_before);

// Reads a regular file of at most `max_size` bytes (RESOURCE_EXHAUSTED if larger;
// INVALID_ARGUMENT if not a regular file, without blocking on a FIFO; UNAVAILABLE
// if the file changes size while it is read). Memory use follows the file's size,
// not the limit.
absl::StatusOr<std::string> ReadFileBounded(const std::string& path, size_t max_size);

// Reads a private file (a key): refuses to follow a symbolic link, and fails with
// FAILED_PRECONDITION when the file is readable or writable by group or others,
// saying how to fix the mode. Otherwise as ReadFileBounded.
absl::StatusOr<SecretBytes> ReadPrivateFile(const std::string& path, size_t max_size);

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_FILE_UTIL_H_
