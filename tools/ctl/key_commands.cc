// custodyctl keygen and key show.

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/curve.h"
#include "core/crypto/ec_private_key.h"
#include "core/keys/key_store.h"
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
