// Strict hexadecimal encoding, for fingerprints, test vectors and the CLI.

#ifndef CUSTODY_CORE_BASE_HEX_H_
#define CUSTODY_CORE_BASE_HEX_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace custody {

// Lower-case hex of `bytes`.
std::string HexEncode(absl::string_view bytes);

// Decodes upper- or lower-case hex. INVALID_ARGUMENT for an odd length or a
// character outside [0-9a-fA-F], naming its position.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_HEX_H_
