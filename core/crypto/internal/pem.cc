#include "core/crypto/internal/pem.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/internal/openssl_util.h"

namespace custody::crypto::internal {
namespace {

// The next thing in `rest` must be a BEGIN line, or nothing (when allowed).
absl::Status CheckBeforeBlock(absl::string_view rest, absl::string_view what, bool allow_end) {
  const absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(rest);
  if (trimmed.empty() && allow_end) return absl::OkStatus();
  if (!absl::StartsWith(trimmed, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        trimmed.empty() ? absl::StrCat("no PEM block found in ", what)
                        : absl::StrCat("unexpected text outside the PEM blocks of ", what));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<SecretBytes>> ReadPemBlocks(absl::string_view pem,
                                                       absl::string_view label,
                                                       absl::string_view what, size_t max_size,
                                                       size_t max_blocks) {
  if (pem.size() > max_size) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, " of ", pem.size(), " bytes exceeds the limit of ", max_size));
  }
  CUSTODY_RETURN_IF_ERROR(CheckBeforeBlock(pem, what, /*allow_end=*/false));

  std::vector<SecretBytes> blocks;
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(pem);
  while (!rest.empty()) {
    if (blocks.size() == max_blocks) {
      return absl::ResourceExhaustedError(
          absl::StrCat(what, " holds more than ", max_blocks, " PEM blocks"));
    }
    CUSTODY_RETURN_IF_ERROR(CheckBeforeBlock(rest, what, /*allow_end=*/false));
    // OpenSSL reads line by line: hand it the text from the BEGIN line on.
    BioPtr bio(BIO_new_mem_buf(rest.data(), static_cast<int>(rest.size())));
    if (bio == nullptr) {
      return OpenSslError(absl::StatusCode::kInternal, "BIO_new_mem_buf failed");
    }
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      return OpenSslError(absl::StatusCode::kInvalidArgument,
                          absl::StrCat("malformed PEM block in ", what));
    }
    SecretBytes der = SecretBytes::CopyFrom(
        absl::string_view(reinterpret_cast<char*>(data), static_cast<size_t>(len)));
    OPENSSL_cleanse(data, static_cast<size_t>(len));
    OPENSSL_free(data);
    const std::string found = name;
    const bool has_headers = header != nullptr && header[0] != '\0';
    OPENSSL_free(name);
    OPENSSL_free(header);
    if (found != label) {
      return absl::InvalidArgumentError(absl::StrCat("PEM block in ", what, " is \"",
                                                     absl::CHexEscape(found), "\", expected \"",
                                                     label, "\""));
    }
    if (has_headers) {
      return absl::InvalidArgumentError(absl::StrCat("PEM block in ", what, " carries headers"));
    }
    if (der.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("PEM block in ", what, " is empty"));
    }
    blocks.push_back(std::move(der));
    const size_t unread = BioContents(bio.get()).size();
    rest = absl::StripLeadingAsciiWhitespace(rest.substr(rest.size() - unread));
  }
  return blocks;
}

absl::StatusOr<SecretBytes> ReadPemBlock(absl::string_view pem, absl::string_view label,
                                         absl::string_view what, size_t max_size) {
  CUSTODY_ASSIGN_OR_RETURN(std::vector<SecretBytes> blocks,
                           ReadPemBlocks(pem, label, what, max_size, 2));
  if (blocks.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " holds ", blocks.size(), " PEM blocks, expected one"));
  }
  return std::move(blocks[0]);
}

}  // namespace custody::crypto::internal
