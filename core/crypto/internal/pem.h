// Strict PEM reading for core/crypto (keys, certificates, CSRs). Internal.
//
// Only white space may appear before, between and after blocks; headers
// ("Proc-Type: ...") are refused; each block's label must be the expected one.
// Decoded bytes are returned as SecretBytes, since some blocks are private keys.

#ifndef CUSTODY_CORE_CRYPTO_INTERNAL_PEM_H_
#define CUSTODY_CORE_CRYPTO_INTERNAL_PEM_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/secret_bytes.h"

namespace custody::crypto::internal {

// Decodes every block of `pem`, each labelled `label`. `what` names the content in
// error messages. INVALID_ARGUMENT when there is no block, anything other than
// white space outside the blocks, a block with headers, another label or bad
// base64; RESOURCE_EXHAUSTED for more than `max_blocks` blocks or more than
// `max_size` bytes of input.
absl::StatusOr<std::vector<SecretBytes>> ReadPemBlocks(absl::string_view pem,
                                                       absl::string_view label,
                                                       absl::string_view what, size_t max_size,
                                                       size_t max_blocks);

// Exactly one block.
absl::StatusOr<SecretBytes> ReadPemBlock(absl::string_view pem, absl::string_view label,
                                         absl::string_view what, size_t max_size);

}  // namespace custody::crypto::internal

#endif  // CUSTODY_CORE_CRYPTO_INTERNAL_PEM_H_
