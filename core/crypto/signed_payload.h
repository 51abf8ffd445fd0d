// SignedPayload: "sign bytes, not messages" (docs/protocol.md).
//
// A SignedPayload carries the exact serialized bytes of a message, the message's
// type name, and an ECDSA signature over the to-be-signed bytes
//
//   "Custody-Signed-Payload-v1" 0x00 || u16be(len(type)) || type
//                                   || u32be(len(payload)) || payload
//
// The type name is inside the signature, so a signature made for one message type
// is never accepted for another. Verification checks the signature over the bytes
// as received and returns them; the caller parses only after that.

#ifndef CUSTODY_CORE_CRYPTO_SIGNED_PAYLOAD_H_
#define CUSTODY_CORE_CRYPTO_SIGNED_PAYLOAD_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/signer.h"
#include "custody/v1/common.pb.h"

namespace custody::crypto {

inline constexpr size_t kMaxPayloadTypeLength = 128;
inline constexpr size_t kMaxSignedPayloadSize = 1024 * 1024;

// The bytes a SignedPayload's signature covers.
std::string SignedPayloadToBeSigned(absl::string_view payload_type, absl::string_view payload);

// The signature algorithm that goes with a key's curve (ES256 or ES384).
v1::SignatureAlgorithm SignatureAlgorithmFor(Curve curve);

// Signs `payload` (already serialized) as a message of type `payload_type`.
// INVALID_ARGUMENT for an empty or over-long type; RESOURCE_EXHAUSTED for a payload
// over kMaxSignedPayloadSize.
absl::StatusOr<v1::SignedPayload> SignPayload(const Signer& key, absl::string_view payload_type,
                                              std::string payload);

// Returns the payload bytes when `signed_payload` is of type `expected_type` and
// carries a valid signature by `key` with the algorithm of the key's curve.
// INVALID_ARGUMENT: wrong type, wrong or missing algorithm, sizes;
// UNAUTHENTICATED: the signature does not verify.
absl::StatusOr<absl::string_view> VerifySignedPayload(const v1::SignedPayload& signed_payload,
                                                      absl::string_view expected_type,
                                                      const EcPublicKey& key);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_SIGNED_PAYLOAD_H_
