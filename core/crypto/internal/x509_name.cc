#include "core/crypto/internal/x509_name.h"

#include <openssl/x509.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status.h"

namespace custody::crypto::internal {
namespace {

absl::Status CheckField(absl::string_view value, absl::string_view field) {
  if (value.size() > kMaxNameFieldLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", kMaxNameFieldLength, " characters"));
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(field, " contains a control character"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<X509NamePtr> BuildX509Name(const DistinguishedName& dn) {
  if (dn.common_name.empty()) return absl::InvalidArgumentError("common name is empty");
  CUSTODY_RETURN_IF_ERROR(CheckField(dn.common_name, "common name"));
  CUSTODY_RETURN_IF_ERROR(CheckField(dn.organization, "organization"));
  CUSTODY_RETURN_IF_ERROR(CheckField(dn.organizational_unit, "organizational unit"));
  X509NamePtr name(X509_NAME_new());
  if (name == nullptr) return OpenSslError(absl::StatusCode::kInternal, "X509_NAME_new failed");
  const std::pair<const char*, const std::string*> fields[] = {
      {"O", &dn.organization}, {"OU", &dn.organizational_unit}, {"CN", &dn.common_name}};
  for (const auto& [key, value] : fields) {
    if (value->empty()) continue;
    if (X509_NAME_add_entry_by_txt(name.get(), key, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value->data()),
                                   static_cast<int>(value->size()), -1, 0) != 1) {
      return OpenSslError(absl::StatusCode::kInvalidArgument,
                          absl::StrCat("name field ", key, " is not valid"));
    }
  }
  return name;
}

}  // namespace custody::crypto::internal
