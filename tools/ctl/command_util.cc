#include "tools/ctl/command_util.h"

#include <openssl/crypto.h>

#include <chrono>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/secret_bytes.h"
#include "core/base/status.h"
#include "core/voucher/voucher_text.h"
#include "server/credentials.h"

namespace custody::custodyctl {

const std::vector<OptionSpec> kAdminConnection = {
    {"address", true, true}, {"ca", true, true}, {"cert", true, true}, {"key", true, true}};
const char kAdminConnectionUsage[] =
    "--address HOST:PORT --ca TLS-CA.pem --cert NAME.pem --key NAME.key";

std::string KeyId(const crypto::EcPublicKey& key) {
  return absl::StrCat("SHA256:", HexEncode(key.Fingerprint()));
}

absl::StatusOr<std::vector<v1::OwnershipVoucher>> ReadVouchers(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, voucher::kMaxVoucherTextSize);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<v1::OwnershipVoucher>> vouchers =
      voucher::VouchersFromText(*text, kMaxVouchersPerFile);
  if (!vouchers.ok()) return Annotate(vouchers.status(), path);
  return vouchers;
}

absl::StatusOr<crypto::EcPublicKey> ReadPublicKey(const std::string& path) {
  CUSTODY_ASSIGN_OR_RETURN(std::string pem, ReadFileBounded(path, crypto::kMaxPublicKeyPemSize));
  absl::StatusOr<crypto::EcPublicKey> key = crypto::EcPublicKey::FromSpkiPem(pem);
  if (!key.ok()) return Annotate(key.status(), path);
  return key;
}

absl::StatusOr<crypto::EcPrivateKey> ReadPrivateKey(const std::string& path) {
  absl::StatusOr<crypto::EcPrivateKey> key = crypto::EcPrivateKey::LoadPemFile(path);
  if (key.ok() || key.status().code() == absl::StatusCode::kNotFound) return key;
  // A public key file given by mistake is readable by others, which would
  // otherwise earn a misleading "chmod 600" hint: say what the file is instead.
  // Only the first line is read, so no private key material is ever copied here.
  std::ifstream in(path, std::ios::binary);
  char first_line[27] = {0};
  in.read(first_line, sizeof(first_line) - 1);
  if (absl::string_view(first_line) == "-----BEGIN PUBLIC KEY-----") {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is a public key; give the private key file (PREFIX.key from custodyctl keygen)"));
  }
  return key;
}

std::vector<OptionSpec> WithAdminConnection(std::vector<OptionSpec> extra) {
  std::vector<OptionSpec> all = kAdminConnection;
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> AdminChannel(const ParsedCommand& command) {
  CUSTODY_ASSIGN_OR_RETURN(std::string ca, ReadFileBounded(*command.Get("ca"), 64 * 1024));
  CUSTODY_ASSIGN_OR_RETURN(std::string cert, ReadFileBounded(*command.Get("cert"), 64 * 1024));
  CUSTODY_ASSIGN_OR_RETURN(SecretBytes key, ReadPrivateFile(*command.Get("key"), 8 * 1024));
  std::string key_pem(key.Reveal());
  auto credentials = server::ClientCredentials(ca, key_pem, cert);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  return grpc::CreateChannel(*command.Get("address"), credentials);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> PublicChannel(const ParsedCommand& command) {
  CUSTODY_ASSIGN_OR_RETURN(std::string ca, ReadFileBounded(*command.Get("ca"), 64 * 1024));
  return grpc::CreateChannel(*command.Get("address"), server::ClientCredentials(ca, "", ""));
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

std::string FormatUnixTime(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

}  // namespace custody::custodyctl
