#include "core/keys/key_store.h"

#include <sys/stat.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/keys/pkcs11.h"

namespace custody::keys {
namespace {

// An in-memory key read from a file, known by its file URI.
class FileSigner final : public crypto::Signer {
 public:
  FileSigner(crypto::EcPrivateKey key, std::string uri)
      : key_(std::move(key)), uri_(std::move(uri)) {}
  const crypto::EcPublicKey& public_key() const override { return key_.public_key(); }
  absl::StatusOr<std::string> Sign(absl::string_view data) const override {
    return key_.Sign(data);
  }
  std::string uri() const override { return uri_; }

 private:
  crypto::EcPrivateKey key_;
  std::string uri_;
};

enum class Scheme { kFile, kPkcs11 };

absl::StatusOr<Scheme> SchemeOf(absl::string_view uri) {
  if (absl::StartsWith(uri, "file:")) {
    if (uri.size() < 6 || uri[5] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("key URI ", uri, " is not file:/absolute/path"));
    }
    return Scheme::kFile;
  }
  if (IsPkcs11Uri(uri)) return Scheme::kPkcs11;
  return absl::InvalidArgumentError(absl::StrCat(
      "key URI \"", uri, "\" has an unknown scheme; use file:/path or pkcs11:... (docs/keys.md)"));
}

std::string PathOf(absl::string_view uri) { return std::string(uri.substr(5)); }

absl::StatusOr<std::unique_ptr<crypto::Signer>> OpenFile(absl::string_view uri) {
  absl::StatusOr<crypto::EcPrivateKey> key = crypto::EcPrivateKey::LoadPemFile(PathOf(uri));
  if (!key.ok()) return Annotate(key.status(), absl::StrCat("key ", uri));
  return std::make_unique<FileSigner>(*std::move(key), std::string(uri));
}

}  // namespace

std::string FileKeyUri(absl::string_view path) { return absl::StrCat("file:", path); }

std::string ConfiguredKeyUri(const std::string& configured, const std::string& state_dir,
                             absl::string_view file) {
  return configured.empty() ? FileKeyUri(absl::StrCat(state_dir, "/", file)) : configured;
}

absl::StatusOr<std::unique_ptr<crypto::Signer>> OpenSigner(absl::string_view uri) {
  CUSTODY_ASSIGN_OR_RETURN(Scheme scheme, SchemeOf(uri));
  if (scheme == Scheme::kFile) return OpenFile(uri);
  return OpenPkcs11Signer(uri);
}

absl::StatusOr<std::unique_ptr<crypto::Signer>> CreateSigner(absl::string_view uri,
                                                             crypto::Curve curve,
                                                             SecureRandom& random) {
  CUSTODY_ASSIGN_OR_RETURN(Scheme scheme, SchemeOf(uri));
  if (scheme == Scheme::kPkcs11) return CreatePkcs11Signer(uri, curve, random);
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key, crypto::EcPrivateKey::Generate(curve));
  absl::Status saved = key.SavePemFile(PathOf(uri), WriteMode::kCreateNew);
  if (saved.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(
        absl::StrCat("key ", uri, " already exists; keys are never overwritten"));
  }
  if (!saved.ok()) return Annotate(saved, absl::StrCat("key ", uri));
  // The public half beside it, for operators (mode 0644).
  const std::string pub = absl::StrCat(PathOf(uri), ".pub");
  CUSTODY_RETURN_IF_ERROR(
      WriteFileAtomically(pub, key.public_key().ToSpkiPem(), 0644, WriteMode::kReplace));
  return std::make_unique<FileSigner>(std::move(key), std::string(uri));
}

absl::StatusOr<std::unique_ptr<crypto::Signer>> OpenOrCreateSigner(absl::string_view uri,
                                                                   crypto::Curve curve,
                                                                   SecureRandom& random,
                                                                   bool may_create, bool* created) {
  if (created != nullptr) *created = false;
  absl::StatusOr<std::unique_ptr<crypto::Signer>> opened = OpenSigner(uri);
  if (opened.ok() || opened.status().code() != absl::StatusCode::kNotFound) {
    if (opened.ok() && (*opened)->curve() != curve) {
      return absl::FailedPreconditionError(
          absl::StrCat("key ", uri, " is on ", crypto::CurveName((*opened)->curve()),
                       " but the configuration asks for ", crypto::CurveName(curve)));
    }
    return opened;
  }
  if (!may_create) return opened.status();
  CUSTODY_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Signer> signer,
                           CreateSigner(uri, curve, random));
  if (created != nullptr) *created = true;
  return signer;
}

absl::StatusOr<KeyDescription> DescribeKey(absl::string_view uri) {
  CUSTODY_ASSIGN_OR_RETURN(Scheme scheme, SchemeOf(uri));
  KeyDescription description;
  description.uri = std::string(uri);
  if (scheme == Scheme::kFile) {
    CUSTODY_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Signer> signer, OpenFile(uri));
    description.backend = "file";
    description.curve = signer->curve();
    description.fingerprint = "SHA256:" + HexEncode(signer->public_key().Fingerprint());
    struct stat info;
    if (::stat(PathOf(uri).c_str(), &info) == 0) {
      description.details.push_back(absl::StrFormat("mode: %04o", info.st_mode & 07777));
    }
    description.details.push_back("exportable: yes (a file; back it up encrypted)");
    return description;
  }
  CUSTODY_ASSIGN_OR_RETURN(Pkcs11KeyInfo info, InspectPkcs11Key(uri));
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey public_key,
                           crypto::EcPublicKey::FromSpkiDer(info.public_key_spki));
  description.backend = "pkcs11";
  description.curve = info.curve;
  description.fingerprint = "SHA256:" + HexEncode(public_key.Fingerprint());
  const auto yes_no = [](bool value) { return value ? "yes" : "no"; };
  description.details = {
      absl::StrCat("module: ", info.module_path),
      absl::StrCat("token: ", info.token_label, " (", info.token_manufacturer, " ",
                   info.token_model, ", serial ", info.token_serial, ")"),
      absl::StrCat("label: ", info.label),
      absl::StrCat("id: ", HexEncode(info.id)),
      absl::StrCat("sensitive: ", yes_no(info.sensitive)),
      absl::StrCat("extractable: ", yes_no(info.extractable)),
      absl::StrCat("always sensitive: ", yes_no(info.always_sensitive)),
      absl::StrCat("never extractable: ", yes_no(info.never_extractable)),
  };
  return description;
}

}  // namespace custody::keys
