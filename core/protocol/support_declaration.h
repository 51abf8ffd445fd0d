// Support-period declarations (ETSI EN 303 645 provision 5.3-13): the manufacturer
// signs, per model, {model, security updates until, disclosure-policy URL,
// sequence}. docs/manufacturer.md, "Support period", describes their use.
//
// Rules (checked on signing and on verifying, so that neither side accepts what
// the other would refuse):
//   - model: 1..64 bytes of printable ASCII, as in a voucher header;
//   - security_updates_until: a real calendar date "YYYY-MM-DD", years 2000..9999;
//   - disclosure_policy_url: "https://" and 9..255 bytes of printable ASCII;
//   - sequence: 1 or more; each declaration for a model takes the next one.
// The end date may only move later: DeclareSupport refuses an earlier date than
// the declaration in force and audits the attempt.
//
// Check names (FailedCheck): support.model, support.date, support.url,
// support.sequence (INVALID_ARGUMENT), support.signature (UNAUTHENTICATED, or
// INVALID_ARGUMENT for a wrong type or algorithm), support.format (a payload that
// does not parse: INVALID_ARGUMENT, or RESOURCE_EXHAUSTED over
// kMaxSupportDeclarationSize), support.shorten (FAILED_PRECONDITION).

#ifndef CUSTODY_CORE_PROTOCOL_SUPPORT_DECLARATION_H_
#define CUSTODY_CORE_PROTOCOL_SUPPORT_DECLARATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/signer.h"
#include "core/storage/store.h"
#include "custody/v1/common.pb.h"
#include "custody/v1/manufacturer.pb.h"

namespace custody::protocol {

inline constexpr absl::string_view kSupportDeclarationType = "custody.v1.SupportDeclaration";
inline constexpr size_t kMaxSupportDeclarationSize = 4096;
inline constexpr size_t kMaxDisclosurePolicyUrlLength = 255;

// Parses "YYYY-MM-DD" strictly (no normalisation: 2031-02-30 is refused).
// support.date on failure.
absl::StatusOr<absl::CivilDay> ParseSupportDate(absl::string_view text);

// Checks every field against the rules above.
absl::Status ValidateSupportDeclaration(const v1::SupportDeclaration& declaration);

// Validates and signs `declaration` with the manufacturer's voucher key.
absl::StatusOr<v1::SignedPayload> SignSupportDeclaration(const v1::SupportDeclaration& declaration,
                                                         const crypto::Signer& manufacturer_key);

// Checks the signature by `manufacturer_key`, parses the payload strictly,
// validates it, and checks that it is about `model`.
absl::StatusOr<v1::SupportDeclaration> VerifySupportDeclaration(
    const v1::SignedPayload& signed_declaration, const crypto::EcPublicKey& manufacturer_key,
    absl::string_view model);

// Support status on `today`: kSupported until the end date (inclusive), then kEnded.
enum class SupportStatus { kSupported, kEnded };
SupportStatus SupportStatusOn(const v1::SupportDeclaration& declaration, absl::CivilDay today);

struct SupportChange {
  std::string model;
  std::string security_updates_until;
  std::string disclosure_policy_url;
};

// Makes, signs and stores the next declaration for `change.model`, with a
// "support.declare" audit event by `actor`, in one transaction; returns it.
// When the new end date is earlier than the one in force, nothing is declared: a
// "support.shorten_refused" event is committed and support.shorten returned. The
// caller checks that the model exists.
absl::StatusOr<v1::SignedPayload> DeclareSupport(storage::Store& store,
                                                 const crypto::Signer& manufacturer_key,
                                                 absl::Time now, absl::string_view actor,
                                                 const SupportChange& change);

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_SUPPORT_DECLARATION_H_
