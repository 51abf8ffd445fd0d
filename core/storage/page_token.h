// Opaque page tokens shared by the store backends: the insertion sequence of the
// last record returned, as "v1:<decimal>". Internal to core/storage.

#ifndef CUSTODY_CORE_STORAGE_PAGE_TOKEN_H_
#define CUSTODY_CORE_STORAGE_PAGE_TOKEN_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace custody::storage {

std::string MakePageToken(int64_t last_sequence);
// 0 for an empty token; INVALID_ARGUMENT for anything not made by MakePageToken.
absl::StatusOr<int64_t> ParsePageToken(absl::string_view token);
// INVALID_ARGUMENT unless 1 <= size <= kMaxPageSize.
absl::Status CheckPageSize(size_t size);

}  // namespace custody::storage

#endif  // CUSTODY_CORE_STORAGE_PAGE_TOKEN_H_
