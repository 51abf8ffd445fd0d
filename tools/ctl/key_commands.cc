// custodyctl keygen.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/curve.h"
#include "core/crypto/ec_private_key.h"
#include "tools/ctl/custodyctl.h"

namespace custody::custodyctl {
namespace {

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
  };
}

}  // namespace custody::custodyctl
