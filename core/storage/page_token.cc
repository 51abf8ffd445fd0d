#include "core/storage/page_token.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/storage/store.h"

namespace custody::storage {

std::string MakePageToken(int64_t last_sequence) { return absl::StrCat("v1:", last_sequence); }

absl::StatusOr<int64_t> ParsePageToken(absl::string_view token) {
  if (token.empty()) return 0;
  int64_t sequence = 0;
  if (!absl::ConsumePrefix(&token, "v1:") || !absl::SimpleAtoi(token, &sequence) || sequence < 1) {
    return absl::InvalidArgumentError("invalid page token; pass back the token a List returned");
  }
  return sequence;
}

absl::Status CheckPageSize(size_t size) {
  if (size == 0 || size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size must be 1 to ", kMaxPageSize, ", not ", size));
  }
  return absl::OkStatus();
}

}  // namespace custody::storage
