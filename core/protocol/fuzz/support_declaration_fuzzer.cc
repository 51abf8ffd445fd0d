// Fuzz target: support declarations from untrusted bytes (what a device receives at
// DI and anyone reads from the public RPC). The payload parse and rules must never
// crash, and whatever the rules accept must sign and verify round trip.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "core/base/proto_parse.h"
#include "core/crypto/ec_private_key.h"
#include "core/protocol/support_declaration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace custody;  // NOLINT: a fuzz entry point.
  static const crypto::EcPrivateKey* const key =
      new crypto::EcPrivateKey(*crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  (void)protocol::ParseSupportDate(input);

  // As a signed payload: verification must refuse without crashing.
  v1::SignedPayload signed_payload;
  if (ParseStrict(input, 8 * 1024, "signed payload", &signed_payload).ok()) {
    (void)protocol::VerifySupportDeclaration(signed_payload, key->public_key(), "gw-100");
  }

  // As a declaration: what the rules accept signs and verifies.
  v1::SupportDeclaration declaration;
  if (!ParseStrict(input, protocol::kMaxSupportDeclarationSize, "declaration", &declaration).ok() ||
      !protocol::ValidateSupportDeclaration(declaration).ok()) {
    return 0;
  }
  absl::StatusOr<v1::SignedPayload> signed_declaration =
      protocol::SignSupportDeclaration(declaration, *key);
  if (!signed_declaration.ok()) std::abort();
  absl::StatusOr<v1::SupportDeclaration> verified = protocol::VerifySupportDeclaration(
      *signed_declaration, key->public_key(), declaration.model());
  if (!verified.ok() || verified->SerializeAsString() != declaration.SerializeAsString()) {
    std::abort();
  }
  return 0;
}
