// Keys in a PKCS#11 token (an HSM, SoftHSM2, a TPM through tpm2-pkcs11), named by
// RFC 7512 URIs:
//
//   pkcs11:token=custody;object=owner-signing?module-path=/usr/lib/softhsm/libsofthsm2.so
//          &pin-source=file:/etc/custody/token.pin
//
// The path selects the token (token, manufacturer, serial, model) and the key
// (object = CKA_LABEL, id = CKA_ID); the query names the module (module-path, an
// absolute path) and where the user PIN is read from (pin-source: "file:PATH" or
// a plain path to a file only its owner can read, or "env:NAME"). A PIN in the
// URI itself (pin-value) is refused, so configuration text never holds it.
//
// Signing uses CKM_ECDSA on the digest computed here (SHA-256 for P-256, SHA-384
// for P-384); keys are generated in the token with CKA_SENSITIVE and without
// CKA_EXTRACTABLE, and a key that is extractable is refused. A module is loaded
// once per process and shared by every key that names it; each key keeps a small
// pool of sessions, so signatures run in parallel up to kMaxPkcs11Sessions.
//
// A token that goes away (removed, reset, the session lost) fails the signature
// in progress with UNAVAILABLE naming the key; the next signature finds the token
// again, logs in and signs, provided the token still holds the same key (another
// key under the same name is refused).

#ifndef CUSTODY_CORE_KEYS_PKCS11_H_
#define CUSTODY_CORE_KEYS_PKCS11_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/random.h"
#include "core/crypto/curve.h"
#include "core/crypto/signer.h"

namespace custody::keys {

inline constexpr size_t kMaxPkcs11Sessions = 8;
inline constexpr size_t kMaxPkcs11UriLength = 4096;

// The private key `uri` names, after checking it is an EC signing key that is
// sensitive and not extractable, with its public key object beside it.
// INVALID_ARGUMENT: a malformed URI, pin-value, a relative module path;
// NOT_FOUND: only when the token holds no such key (so a first start may create
// it); UNAVAILABLE: no token present matches;
// PERMISSION_DENIED: a wrong or locked PIN, an unreadable PIN file;
// FAILED_PRECONDITION: no module at the path, an extractable or non-signing key,
// several keys matching.
absl::StatusOr<std::unique_ptr<crypto::Signer>> OpenPkcs11Signer(absl::string_view uri);

// Generates a key pair on `curve` in the token `uri` names, labelled with its
// object attribute (required) and identified with its id attribute, or with 16
// bytes from `random` when it has none. ALREADY_EXISTS when the token holds an
// object with that label or id; other errors as for OpenPkcs11Signer.
absl::StatusOr<std::unique_ptr<crypto::Signer>> CreatePkcs11Signer(absl::string_view uri,
                                                                   crypto::Curve curve,
                                                                   SecureRandom& random);

// What a key is, for `custodyctl key show` (never the key).
struct Pkcs11KeyInfo {
  std::string module_path;
  std::string token_label;
  std::string token_manufacturer;
  std::string token_model;
  std::string token_serial;
  std::string label;
  std::string id;  // CKA_ID bytes.
  crypto::Curve curve = crypto::Curve::kP256;
  std::string public_key_spki;
  bool sensitive = false;
  bool extractable = false;
  bool always_sensitive = false;
  bool never_extractable = false;
  bool is_private = false;
  bool can_sign = false;
};
absl::StatusOr<Pkcs11KeyInfo> InspectPkcs11Key(absl::string_view uri);

// True for "pkcs11:..." (the key store's dispatch).
bool IsPkcs11Uri(absl::string_view uri);

}  // namespace custody::keys

#endif  // CUSTODY_CORE_KEYS_PKCS11_H_
