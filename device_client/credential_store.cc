#include "device_client/credential_store.h"

#include <openssl/crypto.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/byte_reader.h"
#include "core/base/proto_parse.h"
#include "core/base/secret_bytes.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/hash.h"

namespace custody::device {
namespace {

constexpr absl::string_view kMagic = "CUSTODY-DEVICE-CREDENTIAL-1\n";
constexpr size_t kChecksumSize = 32;
constexpr absl::Duration kStaleTemporaryFileAge = absl::Minutes(10);

}  // namespace

CredentialStore::CredentialStore(std::string dir, Clock& clock)
    : dir_(std::move(dir)), path_(dir_ + "/credential"), clock_(clock) {}

absl::StatusOr<v1::DeviceCredential> CredentialStore::Load() const {
  (void)RemoveStaleTemporaryFiles(dir_, clock_.Now() - kStaleTemporaryFileAge);
  absl::StatusOr<SecretBytes> file = ReadPrivateFile(path_, kMaxCredentialFileSize);
  if (!file.ok()) {
    if (file.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(
          absl::StrCat("no device credential at ", path_, "; run custody_device init"));
    }
    return file.status();
  }
  const absl::string_view bytes = file->Reveal();
  auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("device credential ", path_, " is corrupt (", what,
                                            "); restore it or re-run DI"));
  };
  if (bytes.size() < kMagic.size() + 4 + kChecksumSize) return corrupt("too short");
  const absl::string_view body = bytes.substr(0, bytes.size() - kChecksumSize);
  if (!crypto::ConstantTimeEquals(crypto::Sha256(body), bytes.substr(body.size()))) {
    return corrupt("checksum mismatch");
  }
  ByteReader reader(body);
  absl::StatusOr<absl::string_view> magic = reader.ReadBytes(kMagic.size(), "format marker");
  if (!magic.ok() || *magic != kMagic) return corrupt("unknown format");
  absl::StatusOr<absl::string_view> message =
      reader.ReadLengthPrefixed32(kMaxCredentialFileSize, "credential");
  if (!message.ok() || !reader.ExpectEnd("credential").ok()) return corrupt("bad length");
  v1::DeviceCredential credential;
  absl::Status parsed = ParseStrict(*message, kMaxCredentialFileSize, "credential", &credential);
  if (!parsed.ok()) return corrupt(parsed.message());
  return credential;
}

absl::Status CredentialStore::Save(const v1::DeviceCredential& credential,
                                   WriteStepHook hook) const {
  // The serialized credential holds the HMAC secret: keep it in SecretBytes.
  std::string serialized = credential.SerializeAsString();
  SecretBytes message = SecretBytes::CopyFrom(serialized);
  OPENSSL_cleanse(serialized.data(), serialized.size());
  if (message.size() + kMagic.size() + 4 + kChecksumSize > kMaxCredentialFileSize) {
    return absl::ResourceExhaustedError("device credential exceeds the size limit");
  }
  SecretBytes file(kMagic.size() + 4 + message.size() + kChecksumSize);
  uint8_t* out = file.mutable_data();
  size_t at = 0;
  for (char c : kMagic) out[at++] = static_cast<uint8_t>(c);
  for (int i = 3; i >= 0; --i) out[at++] = static_cast<uint8_t>(message.size() >> (8 * i));
  for (uint8_t b : message.span()) out[at++] = b;
  const std::string checksum =
      crypto::Sha256(absl::string_view(reinterpret_cast<const char*>(out), at));
  for (char c : checksum) out[at++] = static_cast<uint8_t>(c);
  return WriteFileAtomically(path_, file.Reveal(), 0600, WriteMode::kReplace, hook);
}

}  // namespace custody::device
