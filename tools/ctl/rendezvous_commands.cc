// custodyctl rendezvous register | unregister (TO0 from the command line, with a
// voucher file and the owner's key) and the rendezvous admin API: list, delete,
// trusted, trust, distrust (mutual TLS, docs/rendezvous.md).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to0_client.h"
#include "core/voucher/voucher_format.h"
#include "custody/v1/rendezvous.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "rendezvous/rendezvous_client.h"
#include "server/grpc_status.h"
#include "tools/ctl/command_util.h"
#include "tools/ctl/custodyctl.h"

namespace custody::custodyctl {
namespace {

// A file of many vouchers meets the service's per-address TO0 limit (by default
// a burst of 10, then 1 a second): a refused registration waits and tries again.
constexpr int kRateLimitRetries = 5;
constexpr absl::Duration kRateLimitWait = absl::Seconds(1);
constexpr char kPublicUsage[] = "--address HOST:PORT --ca TLS-CA.pem";

absl::StatusOr<std::vector<v1::OwnerAddress>> ParseOwnerAddresses(absl::string_view list) {
  std::vector<v1::OwnerAddress> addresses;
  google::protobuf::RepeatedPtrField<v1::OwnerAddress> checked;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    CUSTODY_ASSIGN_OR_RETURN(
        v1::OwnerAddress address,
        protocol::ParseOwnerAddress(absl::StripAsciiWhitespace(item), "--owner-address"));
    *checked.Add() = address;
    addresses.push_back(std::move(address));
  }
  CUSTODY_RETURN_IF_ERROR(protocol::ValidateOwnerAddresses(checked, "to0.address_record"));
  return addresses;
}

absl::StatusOr<absl::Duration> ParseLifetime(const std::string& text) {
  absl::Duration lifetime;
  if (!absl::ParseDuration(text, &lifetime) || lifetime < absl::Seconds(1) ||
      lifetime != absl::Trunc(lifetime, absl::Seconds(1))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--lifetime \"", text, "\" is not a whole number of seconds of at least 1s (e.g. 24h)"));
  }
  return lifetime;
}

std::string GuidOf(const v1::OwnershipVoucher& voucher) {
  v1::VoucherHeader header;
  if (!header.ParseFromString(voucher.header()) ||
      header.guid().value().size() != voucher::kGuidSize) {
    return "(no GUID)";
  }
  return voucher::FormatGuid(header.guid().value());
}

// TO0 for every voucher of the file, each one's outcome on its own line; the
// error names the first failure.
absl::Status RunTo0(const ParsedCommand& command, Env& env, bool remove) {
  std::vector<v1::OwnerAddress> addresses;
  absl::Duration lifetime = absl::ZeroDuration();
  if (!remove) {
    CUSTODY_ASSIGN_OR_RETURN(addresses, ParseOwnerAddresses(*command.Get("owner-address")));
    CUSTODY_ASSIGN_OR_RETURN(lifetime, ParseLifetime(command.Get("lifetime").value_or("24h")));
  }
  CUSTODY_ASSIGN_OR_RETURN(std::vector<v1::OwnershipVoucher> vouchers,
                           ReadVouchers(command.args[0]));
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey owner_key,
                           ReadPrivateKey(*command.Get("owner-key")));
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, PublicChannel(command));
  size_t failed = 0;
  absl::Status first_failure;
  for (v1::OwnershipVoucher& voucher : vouchers) {
    const std::string guid = GuidOf(voucher);
    protocol::To0Registration registration;
    registration.voucher = std::move(voucher);
    registration.addresses = addresses;
    registration.lifetime = lifetime;
    registration.remove = remove;
    absl::StatusOr<v1::To0AcceptOwner> accepted =
        rendezvous::RegisterOwner(channel, registration, owner_key);
    for (int retry = 1; retry <= kRateLimitRetries && !accepted.ok() &&
                        FailedCheck(accepted.status()) == "rate_limit";
         ++retry) {
      absl::SleepFor(kRateLimitWait * retry);
      accepted = rendezvous::RegisterOwner(channel, registration, owner_key);
    }
    if (!accepted.ok()) {
      if (++failed == 1) first_failure = Annotate(accepted.status(), guid);
      if (vouchers.size() > 1)
        env.out << guid << "  FAILED  " << accepted.status().message() << "\n";
    } else if (remove) {
      env.out << guid << "  removed\n";
    } else {
      env.out << guid << "  registered until " << FormatUnixTime(accepted->expires_at_unix())
              << " (granted " << accepted->granted_lifetime_seconds() << " s)\n";
    }
  }
  if (failed == 0) return absl::OkStatus();
  if (vouchers.size() == 1) return first_failure;
  return AttachCheck(absl::Status(first_failure.code(),
                                  absl::StrCat(failed, " of ", vouchers.size(),
                                               " vouchers failed (listed above); the first: ",
                                               first_failure.message())),
                     FailedCheck(first_failure));
}

absl::Status RunRegister(const ParsedCommand& command, Env& env) {
  return RunTo0(command, env, /*remove=*/false);
}

absl::Status RunUnregister(const ParsedCommand& command, Env& env) {
  return RunTo0(command, env, /*remove=*/true);
}

absl::StatusOr<std::unique_ptr<v1::RendezvousAdmin::Stub>> Connect(const ParsedCommand& command) {
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, AdminChannel(command));
  return v1::RendezvousAdmin::NewStub(channel);
}

absl::Status RunList(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  std::string token;
  size_t total = 0;
  do {
    v1::ListRegistrationsRequest request;
    request.set_page_size(1000);
    request.set_page_token(token);
    v1::ListRegistrationsResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    CUSTODY_RETURN_IF_ERROR(
        server::FromGrpcStatus(stub->ListRegistrations(&context, request, &response)));
    for (const v1::RegistrationSummary& r : response.registrations()) {
      env.out << voucher::FormatGuid(r.guid())
              << "  owner SHA256:" << HexEncode(r.owner_key_fingerprint())
              << "  entries=" << r.entries() << "  expires " << FormatUnixTime(r.expires_at_unix())
              << " ";
      for (const v1::OwnerAddress& address : r.addresses()) {
        env.out << " " << address.host() << ":" << address.port();
      }
      env.out << "\n";
    }
    total += response.registrations_size();
    token = response.next_page_token();
  } while (!token.empty());
  env.out << total << (total == 1 ? " registration\n" : " registrations\n");
  return absl::OkStatus();
}

absl::Status RunDelete(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(std::string guid, voucher::ParseGuid(command.args[0]));
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  v1::DeleteRegistrationRequest request;
  request.set_guid(guid);
  v1::DeleteRegistrationResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(
      server::FromGrpcStatus(stub->DeleteRegistration(&context, request, &response)));
  env.out << "deleted the registration of " << voucher::FormatGuid(guid) << "\n";
  return absl::OkStatus();
}

absl::Status RunTrusted(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  v1::ListTrustedManufacturersResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(
      server::FromGrpcStatus(stub->ListTrustedManufacturers(&context, {}, &response)));
  for (const v1::TrustedManufacturer& m : response.manufacturers()) {
    env.out << "SHA256:" << HexEncode(m.fingerprint()) << "  since "
            << FormatUnixTime(m.added_at_unix()) << "  " << m.label() << "\n";
  }
  env.out << response.manufacturers_size()
          << (response.manufacturers_size() == 1 ? " trusted manufacturer key\n"
                                                 : " trusted manufacturer keys\n");
  return absl::OkStatus();
}

absl::Status RunTrust(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey key, ReadPublicKey(command.args[0]));
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  v1::TrustManufacturerRequest request;
  *request.mutable_key() = voucher::ToWireKey(key);
  request.set_label(*command.Get("label"));
  v1::TrustManufacturerResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(
      server::FromGrpcStatus(stub->TrustManufacturer(&context, request, &response)));
  env.out << "trusted " << KeyId(key) << " (" << response.manufacturer().label()
          << "): owners may now register its vouchers\n";
  return absl::OkStatus();
}

// "SHA256:<64 hex>", bare hex, or a public key file.
absl::StatusOr<std::string> ParseFingerprint(const std::string& text) {
  absl::string_view hex = text;
  absl::ConsumePrefix(&hex, "SHA256:");
  if (hex.size() == 64) {
    absl::StatusOr<std::string> bytes = HexDecode(hex);
    if (bytes.ok()) return bytes;
  }
  absl::StatusOr<crypto::EcPublicKey> key = ReadPublicKey(text);
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is neither SHA256:<64 hex digits> nor a readable public key file (",
        key.status().message(), ")"));
  }
  return key->Fingerprint();
}

absl::Status RunDistrust(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(std::string fingerprint, ParseFingerprint(command.args[0]));
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  v1::DistrustManufacturerRequest request;
  request.set_fingerprint(fingerprint);
  v1::DistrustManufacturerResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(
      server::FromGrpcStatus(stub->DistrustManufacturer(&context, request, &response)));
  env.out << "distrusted SHA256:" << HexEncode(fingerprint)
          << ": new registrations of its vouchers are refused (existing ones stay until they "
             "expire or are deleted)\n";
  return absl::OkStatus();
}

}  // namespace

std::vector<Command> RendezvousCommands() {
  const std::vector<OptionSpec> to0 = {
      {"address", true, true}, {"ca", true, true}, {"owner-key", true, true}};
  std::vector<OptionSpec> register_options = to0;
  register_options.push_back({"owner-address", true, true});
  register_options.push_back({"lifetime", true, false});
  return {
      Command{CommandSpec{"rendezvous register", register_options, 1, 1,
                          absl::StrCat("VOUCHERS --owner-key OWNER.key --owner-address "
                                       "HOST:PORT[,HOST:PORT...] [--lifetime 24h] ",
                                       kPublicUsage),
                          "register where each voucher's device should reach its owner (TO0); "
                          "the service caps the lifetime"},
              &RunRegister},
      Command{CommandSpec{"rendezvous unregister", to0, 1, 1,
                          absl::StrCat("VOUCHERS --owner-key OWNER.key ", kPublicUsage),
                          "remove each voucher's registration (signed by the owner)"},
              &RunUnregister},
      Command{CommandSpec{"rendezvous list", kAdminConnection, 0, 0, kAdminConnectionUsage,
                          "list the registrations"},
              &RunList},
      Command{CommandSpec{"rendezvous delete", kAdminConnection, 1, 1,
                          absl::StrCat("GUID ", kAdminConnectionUsage),
                          "delete a registration (operator)"},
              &RunDelete},
      Command{CommandSpec{"rendezvous trusted", kAdminConnection, 0, 0, kAdminConnectionUsage,
                          "list the trusted manufacturer keys"},
              &RunTrusted},
      Command{CommandSpec{"rendezvous trust", WithAdminConnection({{"label", true, true}}), 1, 1,
                          absl::StrCat("MANUFACTURER.pub --label LABEL ", kAdminConnectionUsage),
                          "trust a manufacturer's voucher key (operator); only vouchers rooted "
                          "in a trusted key can be registered"},
              &RunTrust},
      Command{
          CommandSpec{"rendezvous distrust", kAdminConnection, 1, 1,
                      absl::StrCat("SHA256:FINGERPRINT|MANUFACTURER.pub ", kAdminConnectionUsage),
                      "stop trusting a manufacturer key (operator)"},
          &RunDistrust},
  };
}

}  // namespace custody::custodyctl
