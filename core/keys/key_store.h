// The key store: every private key a service or device uses is named by a key
// URI in its configuration and opened here, whatever holds it.
//
//   file:/var/lib/custody/owner/owner.key   PKCS#8 PEM, mode 0600, written atomically;
//                                           files others can read are refused
//   pkcs11:token=...;object=...?module-path=...&pin-source=...
//                                           a key in a PKCS#11 token (core/keys/pkcs11.h)
//
// A key is created only by CreateSigner (custodyctl keygen) or by a service's
// first start (OpenOrCreateSigner), never over an existing one. docs/keys.md
// says how to provision each backend.

#ifndef CUSTODY_CORE_KEYS_KEY_STORE_H_
#define CUSTODY_CORE_KEYS_KEY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/random.h"
#include "core/crypto/curve.h"
#include "core/crypto/signer.h"

namespace custody::keys {

// "file:" + path.
std::string FileKeyUri(absl::string_view path);

// A configured key URI, or the key file `file` in `state_dir` when none is
// configured: the default of every service key field.
std::string ConfiguredKeyUri(const std::string& configured, const std::string& state_dir,
                             absl::string_view file);

// The signing key at `uri`. NOT_FOUND only when the backend holds no such key;
// INVALID_ARGUMENT for an unknown scheme or a malformed URI; every error names the URI.
absl::StatusOr<std::unique_ptr<crypto::Signer>> OpenSigner(absl::string_view uri);

// A new key on `curve` at `uri`; ALREADY_EXISTS when there is one.
absl::StatusOr<std::unique_ptr<crypto::Signer>> CreateSigner(absl::string_view uri,
                                                             crypto::Curve curve,
                                                             SecureRandom& random);

// OpenSigner, or CreateSigner when `may_create` and the key does not exist yet
// (a service's first start); `created` (optional) says which happened.
absl::StatusOr<std::unique_ptr<crypto::Signer>> OpenOrCreateSigner(absl::string_view uri,
                                                                   crypto::Curve curve,
                                                                   SecureRandom& random,
                                                                   bool may_create,
                                                                   bool* created = nullptr);

// What a key is and where it lives, for `custodyctl key list|show`: never the key.
struct KeyDescription {
  std::string uri;
  std::string backend;  // "file", "pkcs11"
  crypto::Curve curve = crypto::Curve::kP256;
  std::string fingerprint;  // "SHA256:" + hex of the public key's SPKI.
  // Further facts, "name: value" (token, label, CKA_EXTRACTABLE, file mode...).
  std::vector<std::string> details;
};
absl::StatusOr<KeyDescription> DescribeKey(absl::string_view uri);

}  // namespace custody::keys

#endif  // CUSTODY_CORE_KEYS_KEY_STORE_H_
