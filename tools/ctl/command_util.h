// What custodyctl's commands share: reading key and voucher files with errors
// that name the file, and reaching a service's admin port over mutual TLS.

#ifndef CUSTODY_TOOLS_CTL_COMMAND_UTIL_H_
#define CUSTODY_TOOLS_CTL_COMMAND_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ec_public_key.h"
#include "custody/v1/voucher.pb.h"
#include "grpcpp/grpcpp.h"
#include "tools/ctl/cli.h"

namespace custody::custodyctl {

// Enough for a file of a hundred thousand vouchers.
inline constexpr size_t kMaxVouchersPerFile = 100000;

// "SHA256:<hex of the SPKI fingerprint>".
std::string KeyId(const crypto::EcPublicKey& key);

// Every voucher block of a text file (voucher_text.h); errors name the file.
absl::StatusOr<std::vector<v1::OwnershipVoucher>> ReadVouchers(const std::string& path);
absl::StatusOr<crypto::EcPublicKey> ReadPublicKey(const std::string& path);
// Refuses a private key file that others can read; says so when the file is a
// public key given by mistake.
absl::StatusOr<crypto::EcPrivateKey> ReadPrivateKey(const std::string& path);

// The options of a command on an admin port, and their usage text.
extern const std::vector<OptionSpec> kAdminConnection;
extern const char kAdminConnectionUsage[];
std::vector<OptionSpec> WithAdminConnection(std::vector<OptionSpec> extra);

// A mutual-TLS channel to --address trusting --ca, presenting --cert/--key.
absl::StatusOr<std::shared_ptr<grpc::Channel>> AdminChannel(const ParsedCommand& command);
// A server-authenticated channel to --address trusting --ca (public ports).
absl::StatusOr<std::shared_ptr<grpc::Channel>> PublicChannel(const ParsedCommand& command);

// "2026-11-21T10:00:00Z".
std::string FormatUnixTime(int64_t unix_seconds);

// Every call gets 30 seconds.
void SetDeadline(grpc::ClientContext& context);

}  // namespace custody::custodyctl

#endif  // CUSTODY_TOOLS_CTL_COMMAND_UTIL_H_
