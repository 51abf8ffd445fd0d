// Status helpers shared by every Custody library.
//
// The pinned Abseil (20220623) has no ABSL_RETURN_IF_ERROR, so the project defines
// its own pair of propagation macros here and uses them everywhere.
//
// Status-code policy (docs/decisions/0003-status-codes.md), applied by every library:
//   malformed input                         -> INVALID_ARGUMENT
//   unknown GUID, voucher, file             -> NOT_FOUND
//   wrong state or order                    -> FAILED_PRECONDITION
//   failed signature, MAC, tag, chain       -> UNAUTHENTICATED
//   authenticated but not allowed (policy)  -> PERMISSION_DENIED
//   size and count limits                   -> RESOURCE_EXHAUSTED
// Messages name the failed check and never contain key material.

#ifndef CUSTODY_CORE_BASE_STATUS_H_
#define CUSTODY_CORE_BASE_STATUS_H_

#include <string>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function
// when it is not OK.
#define CUSTODY_RETURN_IF_ERROR(expr)                            \
  do {                                                           \
    ::absl::Status custody_status_macro_value_ = (expr);         \
    if (ABSL_PREDICT_FALSE(!custody_status_macro_value_.ok())) { \
      return custody_status_macro_value_;                        \
    }                                                            \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from the
// enclosing function, otherwise moves the value into `lhs`, which may be a
// declaration (`auto x`) or an existing lvalue. A type with a comma must be
// wrapped in parentheses by the caller's alias, e.g. `using Pair = std::pair<A, B>`.
#define CUSTODY_ASSIGN_OR_RETURN(lhs, rexpr)                                                     \
  CUSTODY_ASSIGN_OR_RETURN_IMPL_(CUSTODY_STATUS_MACRO_CONCAT_(custody_statusor_, __LINE__), lhs, \
                                 rexpr)

#define CUSTODY_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) {                  \
    return std::move(statusor).status();                     \
  }                                                          \
  lhs = std::move(statusor).value()

#define CUSTODY_STATUS_MACRO_CONCAT_INNER_(x, y) x##y
#define CUSTODY_STATUS_MACRO_CONCAT_(x, y) CUSTODY_STATUS_MACRO_CONCAT_INNER_(x, y)

namespace custody {

// Returns `status` with "context: " prepended to its message, keeping its code
// and payloads. Returns OK unchanged.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// A refusal that names the failed check: code `code`, message "<check>: <detail>",
// and the check name attached as a payload, so that a service can fill
// ErrorDetail.check without parsing messages. Check names are stable identifiers
// such as "voucher.entry_signature".
absl::Status CheckFailed(absl::StatusCode code, absl::string_view check, absl::string_view detail);

// `status` with the check name `check` attached and its message unchanged: for a
// refusal received from a peer, whose message already names the check.
absl::Status AttachCheck(const absl::Status& status, absl::string_view check);

// The check name attached by CheckFailed, or "" when there is none.
std::string FailedCheck(const absl::Status& status);

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_STATUS_H_
