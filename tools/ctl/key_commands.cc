// custodyctl keygen and key show.

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/base/text_proto.h"
#include "core/crypto/curve.h"
#include "core/crypto/ec_private_key.h"
#include "core/keys/key_store.h"
#include "custody/v1/config.pb.h"
#include "tools/ctl/custodyctl.h"

namespace custody::custodyctl {
namespace {

// key create: a key made wherever the URI says (a token's keys never leave it).
absl::Status RunKeyCreate(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(crypto::Curve curve,
                           crypto::ParseCurve(command.Get("curve").value_or("p256")));
  const std::string uri = *command.Get("uri");
  CUSTODY_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Signer> key,
                           keys::CreateSigner(uri, curve, env.random));
  const std::string pem = key->public_key().ToSpkiPem();
  if (std::optional<std::string> pub = command.Get("pub")) {
    CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(*pub, pem, 0644, WriteMode::kCreateNew));
    env.out << "wrote " << *pub << "\n";
  } else {
    env.out << pem;
  }
  env.out << "created " << key->uri() << "\n"
          << "key " << crypto::CurveName(curve)
          << " SHA256:" << HexEncode(key->public_key().Fingerprint()) << "\n";
  return absl::OkStatus();
}

absl::Status RunKeygen(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(crypto::Curve curve,
                           crypto::ParseCurve(command.Get("curve").value_or("p256")));
  const std::string prefix = *command.Get("out");
  const std::string key_path = prefix + ".key";
  const std::string pub_path = prefix + ".pub";
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key, crypto::EcPrivateKey::Generate(curve));
  // The public half first: if it cannot be written, no private key is left behind.
  CUSTODY_RETURN_IF_ERROR(
      WriteFileAtomically(pub_path, key.public_key().ToSpkiPem(), 0644, WriteMode::kCreateNew));
  absl::Status saved = key.SavePemFile(key_path, WriteMode::kCreateNew);
  if (!saved.ok()) {
    std::remove(pub_path.c_str());
    return saved;
  }
  env.out << "wrote " << key_path << " (private, mode 0600) and " << pub_path << "\n"
          << "key " << crypto::CurveName(curve)
          << " SHA256:" << HexEncode(key.public_key().Fingerprint()) << "\n";
  return absl::OkStatus();
}

absl::Status RunKeyShow(const ParsedCommand& command, Env& env) {
  for (const std::string& uri : command.args) {
    CUSTODY_ASSIGN_OR_RETURN(keys::KeyDescription key_description, keys::DescribeKey(uri));
    const keys::KeyDescription* key = &key_description;
    env.out << key->uri << "\n"
            << "  backend:     " << key->backend << "\n"
            << "  curve:       " << crypto::CurveName(key->curve) << "\n"
            << "  fingerprint: " << key->fingerprint << "\n";
    for (const std::string& detail : key->details) env.out << "  " << detail << "\n";
  }
  return absl::OkStatus();
}

// The keys a service's configuration names, each with where it lives.
absl::Status RunKeyList(const ParsedCommand& command, Env& env) {
  const std::string path = *command.Get("config");
  std::vector<std::pair<std::string, std::string>> keys;  // {role, URI}
  v1::OwnerConfig owner;
  v1::ManufacturerConfig manufacturer;
  const absl::Status as_owner = ReadTextProtoFile(path, &owner);
  if (as_owner.ok()) {
    const std::string& dir = owner.server().state_dir();
    keys = {{"owner key", keys::ConfiguredKeyUri(owner.owner_key(), dir, "owner.key")},
            {"device CA", keys::ConfiguredKeyUri(owner.device_ca_key(), dir, "device-ca.key")}};
  } else if (ReadTextProtoFile(path, &manufacturer).ok()) {
    const std::string& dir = manufacturer.server().state_dir();
    keys = {
        {"voucher key", keys::ConfiguredKeyUri(manufacturer.voucher_key(), dir, "voucher.key")},
        {"device CA", keys::ConfiguredKeyUri(manufacturer.device_ca_key(), dir, "device-ca.key")}};
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is neither an owner nor a manufacturer configuration: ", as_owner.message()));
  }
  bool all_present = true;
  for (const auto& [role, uri] : keys) {
    absl::StatusOr<keys::KeyDescription> key = keys::DescribeKey(uri);
    if (key.ok()) {
      env.out << role << ": " << key->backend << " " << crypto::CurveName(key->curve) << " "
              << key->fingerprint << "\n  " << uri << "\n";
    } else {
      all_present = false;
      env.out << role << ": unavailable (" << key.status().message() << ")\n  " << uri << "\n";
    }
  }
  if (!all_present) {
    return absl::FailedPreconditionError("a configured key cannot be opened (listed above)");
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<Command> KeyCommands() {
  return {
      Command{CommandSpec{"keygen",
                          {{"curve", true, false}, {"out", true, true}},
                          0,
                          0,
                          "--out PREFIX [--curve p256|p384]",
                          "generate a key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and "
                          "PREFIX.pub; refuses to overwrite either"},
              &RunKeygen},
      Command{CommandSpec{"key create",
                          {{"uri", true, true}, {"curve", true, false}, {"pub", true, false}},
                          0,
                          0,
                          "--uri KEY_URI [--pub FILE] [--curve p256|p384]",
                          "generate a key where KEY_URI says (pkcs11:... for a token, where it "
                          "is made non-extractable; file:/path); prints its public key or "
                          "writes it to FILE; never overwrites a key"},
              &RunKeyCreate},
      Command{CommandSpec{"key list",
                          {{"config", true, true}},
                          0,
                          0,
                          "--config FILE",
                          "the keys an owner or manufacturer configuration names: role, "
                          "backend, curve, fingerprint and URI, or why one cannot be opened"},
              &RunKeyList},
      Command{CommandSpec{"key show",
                          {},
                          1,
                          16,
                          "KEY_URI...",
                          "what each key is and where it lives (backend, curve, fingerprint, "
                          "token, extractability): never the key"},
              &RunKeyShow},
  };
}

}  // namespace custody::custodyctl
