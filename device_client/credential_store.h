// The device credential's one file, replaced atomically.
//
// Writes go to a temporary file in the same directory, which is synced, renamed
// over the credential and followed by a sync of the directory (WriteFileAtomically):
// a crash or power cut at any point leaves either the old credential or the new
// one, never neither and never a mix (tested by killing the process at every step).
// The file holds the HMAC secret, so it is mode 0600 and loading refuses a file
// that group or others can read.
//
// File format: "CUSTODY-DEVICE-CREDENTIAL-1\n" || u32be(length) || DeviceCredential
// || SHA-256 of everything before it. The checksum turns silent corruption (a bad
// flash block) into a precise DATA_LOSS instead of a misread credential.
//
// Thread-compatible: one writer per directory.

#ifndef CUSTODY_DEVICE_CLIENT_CREDENTIAL_STORE_H_
#define CUSTODY_DEVICE_CLIENT_CREDENTIAL_STORE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/base/clock.h"
#include "core/base/file_util.h"
#include "custody/v1/device.pb.h"

namespace custody::device {

inline constexpr size_t kMaxCredentialFileSize = 256 * 1024;

class CredentialStore {
 public:
  // The credential lives in `dir`/credential; `dir` must exist. `clock` dates the
  // temporary files that interrupted writes left (swept after ten minutes).
  explicit CredentialStore(std::string dir, Clock& clock = SystemClock());

  const std::string& path() const { return path_; }

  // NOT_FOUND when the device has no credential yet; DATA_LOSS when the file is
  // corrupt; FAILED_PRECONDITION when others can read it. Removes temporary files
  // that interrupted writes left more than ten minutes ago.
  absl::StatusOr<v1::DeviceCredential> Load() const;

  // Replaces the credential atomically, with `credential.generation` as given.
  // `hook` is for fault-injection tests only.
  absl::Status Save(const v1::DeviceCredential& credential, WriteStepHook hook = nullptr) const;

 private:
  std::string dir_;
  std::string path_;
  Clock& clock_;
};

}  // namespace custody::device

#endif  // CUSTODY_DEVICE_CLIENT_CREDENTIAL_STORE_H_
