#include "core/protocol/support_declaration.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/crypto/signed_payload.h"
#include "core/voucher/voucher_format.h"

namespace custody::protocol {
namespace {

absl::Status Invalid(absl::string_view check, absl::string_view detail) {
  return CheckFailed(absl::StatusCode::kInvalidArgument, check, detail);
}

bool PrintableAscii(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

// Model names follow the voucher header's rule: spaces allowed, nothing else
// outside printable ASCII.
bool PrintableAsciiOrSpace(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

bool Digits(absl::string_view text) {
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int ToInt(absl::string_view digits) {
  int value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

absl::StatusOr<absl::CivilDay> ParseSupportDate(absl::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !Digits(text.substr(0, 4)) ||
      !Digits(text.substr(5, 2)) || !Digits(text.substr(8, 2))) {
    return Invalid("support.date", "the end date must be written YYYY-MM-DD");
  }
  const int year = ToInt(text.substr(0, 4));
  const int month = ToInt(text.substr(5, 2));
  const int day = ToInt(text.substr(8, 2));
  if (year < 2000) return Invalid("support.date", "the end date is before the year 2000");
  const absl::CivilDay parsed(year, month, day);
  // CivilDay normalises (2031-02-30 becomes 2031-03-02): a changed field means the
  // date does not exist.
  if (parsed.year() != year || parsed.month() != month || parsed.day() != day) {
    return Invalid("support.date", absl::StrCat("the end date ", text, " does not exist"));
  }
  return parsed;
}

absl::Status ValidateSupportDeclaration(const v1::SupportDeclaration& declaration) {
  const std::string& model = declaration.model();
  if (model.empty() || model.size() > voucher::kMaxModelLength || !PrintableAsciiOrSpace(model)) {
    return Invalid("support.model",
                   absl::StrCat("the model must be 1 to ", voucher::kMaxModelLength,
                                " bytes of printable ASCII"));
  }
  CUSTODY_RETURN_IF_ERROR(ParseSupportDate(declaration.security_updates_until()).status());
  const std::string& url = declaration.disclosure_policy_url();
  if (!absl::StartsWith(url, "https://") || url.size() <= 8 ||
      url.size() > kMaxDisclosurePolicyUrlLength || !PrintableAscii(url)) {
    return Invalid(
        "support.url",
        absl::StrCat("the disclosure-policy URL must be an https:// URL of at most ",
                     kMaxDisclosurePolicyUrlLength, " bytes of printable ASCII without spaces"));
  }
  if (declaration.sequence() == 0) {
    return Invalid("support.sequence", "the sequence starts at 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::SignedPayload> SignSupportDeclaration(const v1::SupportDeclaration& declaration,
                                                         const crypto::Signer& manufacturer_key) {
  CUSTODY_RETURN_IF_ERROR(ValidateSupportDeclaration(declaration));
  return crypto::SignPayload(manufacturer_key, kSupportDeclarationType,
                             declaration.SerializeAsString());
}

absl::StatusOr<v1::SupportDeclaration> VerifySupportDeclaration(
    const v1::SignedPayload& signed_declaration, const crypto::EcPublicKey& manufacturer_key,
    absl::string_view model) {
  absl::StatusOr<absl::string_view> payload =
      crypto::VerifySignedPayload(signed_declaration, kSupportDeclarationType, manufacturer_key);
  if (!payload.ok()) {
    return CheckFailed(payload.status().code(), "support.signature", payload.status().message());
  }
  v1::SupportDeclaration declaration;
  absl::Status parsed =
      ParseStrict(*payload, kMaxSupportDeclarationSize, "support declaration", &declaration);
  if (!parsed.ok()) return CheckFailed(parsed.code(), "support.format", parsed.message());
  CUSTODY_RETURN_IF_ERROR(ValidateSupportDeclaration(declaration));
  if (declaration.model() != model) {
    return Invalid("support.model", "the support declaration is for another model");
  }
  return declaration;
}

SupportStatus SupportStatusOn(const v1::SupportDeclaration& declaration, absl::CivilDay today) {
  absl::StatusOr<absl::CivilDay> until = ParseSupportDate(declaration.security_updates_until());
  return until.ok() && today <= *until ? SupportStatus::kSupported : SupportStatus::kEnded;
}

absl::StatusOr<v1::SignedPayload> DeclareSupport(storage::Store& store,
                                                 const crypto::Signer& manufacturer_key,
                                                 absl::Time now, absl::string_view actor,
                                                 const SupportChange& change) {
  v1::SupportDeclaration declaration;
  declaration.set_model(change.model);
  declaration.set_security_updates_until(change.security_updates_until);
  declaration.set_disclosure_policy_url(change.disclosure_policy_url);
  declaration.set_sequence(1);
  // Validated before the transaction, so that malformed requests change nothing,
  // not even the audit log.
  CUSTODY_RETURN_IF_ERROR(ValidateSupportDeclaration(declaration));
  const absl::CivilDay until = *ParseSupportDate(change.security_updates_until);

  absl::Status refusal;
  v1::SignedPayload result;
  absl::Status status = store.Transact([&](storage::Transaction& tx) -> absl::Status {
    refusal = absl::OkStatus();
    storage::AuditEvent event;
    event.time = now;
    event.actor = std::string(actor);
    event.target = change.model;
    absl::StatusOr<storage::SupportDeclarationRecord> current = tx.support().Current(change.model);
    if (current.ok()) {
      // The stored date was validated when it was declared.
      CUSTODY_ASSIGN_OR_RETURN(absl::CivilDay current_until,
                               ParseSupportDate(current->security_updates_until));
      if (until < current_until) {
        event.action = "support.shorten_refused";
        event.details =
            absl::StrCat("asked ", change.security_updates_until, ", in force ",
                         current->security_updates_until, " (sequence ", current->sequence, ")");
        CUSTODY_RETURN_IF_ERROR(tx.audit().Append(event).status());
        refusal = CheckFailed(
            absl::StatusCode::kFailedPrecondition, "support.shorten",
            absl::StrCat("security updates for \"", change.model, "\" are declared until ",
                         current->security_updates_until, "; the end date may only move later"));
        return absl::OkStatus();  // Commit the audit event.
      }
      declaration.set_sequence(static_cast<uint64_t>(current->sequence) + 1);
    } else if (current.status().code() != absl::StatusCode::kNotFound) {
      return current.status();
    }
    CUSTODY_ASSIGN_OR_RETURN(result, SignSupportDeclaration(declaration, manufacturer_key));
    storage::SupportDeclarationRecord record;
    record.model = change.model;
    record.sequence = static_cast<int64_t>(declaration.sequence());
    record.security_updates_until = change.security_updates_until;
    record.signed_declaration = result.SerializeAsString();
    record.declared_at = now;
    CUSTODY_RETURN_IF_ERROR(tx.support().Insert(record));
    event.action = "support.declare";
    event.details =
        absl::StrCat("security updates until ", change.security_updates_until, ", sequence ",
                     declaration.sequence(), ", policy ", change.disclosure_policy_url);
    return tx.audit().Append(event).status();
  });
  CUSTODY_RETURN_IF_ERROR(status);
  CUSTODY_RETURN_IF_ERROR(refusal);
  return result;
}

}  // namespace custody::protocol
