// custodyctl admin-credential; custodyctl manufacturer list | show | extend |
// declare-support (the manufacturer's admin API, over mutual TLS); and custodyctl
// manufacturer support (public, server-authenticated TLS only).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/ec_public_key.h"
#include "core/pki/service_identity.h"
#include "core/protocol/support_declaration.h"
#include "core/voucher/voucher_format.h"
#include "custody/v1/manufacturer.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/grpc_status.h"
#include "tools/ctl/command_util.h"
#include "tools/ctl/custodyctl.h"

namespace custody::custodyctl {
namespace {

absl::StatusOr<std::unique_ptr<v1::ManufacturerAdmin::Stub>> Connect(const ParsedCommand& command) {
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, AdminChannel(command));
  return v1::ManufacturerAdmin::NewStub(channel);
}

absl::Status RunAdminCredential(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(pki::AdminRole role, pki::ParseAdminRole(*command.Get("role")));
  absl::Duration validity = absl::Hours(24 * 365);
  CUSTODY_RETURN_IF_ERROR(pki::IssueAdminCredential(*command.Get("state-dir"), *command.Get("name"),
                                                    role, validity, *command.Get("out"), env.clock,
                                                    env.random));
  env.out << "wrote " << *command.Get("out") << ".key (mode 0600) and " << *command.Get("out")
          << ".pem: " << pki::AdminRoleName(role) << " credential for \"" << *command.Get("name")
          << "\", valid for a year\n";
  return absl::OkStatus();
}

absl::Status RunList(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  std::string token;
  size_t total = 0;
  do {
    v1::ListVouchersRequest request;
    request.set_page_size(500);
    request.set_page_token(token);
    v1::ListVouchersResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    CUSTODY_RETURN_IF_ERROR(
        server::FromGrpcStatus(stub->ListVouchers(&context, request, &response)));
    for (const v1::VoucherSummary& summary : response.vouchers()) {
      env.out << voucher::FormatGuid(summary.guid()) << "  " << summary.model() << "  "
              << summary.serial() << "  " << summary.state() << "  entries=" << summary.entries()
              << "\n";
    }
    total += response.vouchers_size();
    token = response.next_page_token();
  } while (!token.empty());
  env.out << total << (total == 1 ? " voucher\n" : " vouchers\n");
  return absl::OkStatus();
}

absl::Status RunShow(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  CUSTODY_ASSIGN_OR_RETURN(std::string guid, voucher::ParseGuid(command.args[0]));
  v1::GetVoucherRequest request;
  request.set_guid(guid);
  v1::GetVoucherResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(server::FromGrpcStatus(stub->GetVoucher(&context, request, &response)));
  env.out << "guid:    " << voucher::FormatGuid(response.summary().guid())
          << "\nmodel:   " << response.summary().model()
          << "\nserial:  " << response.summary().serial()
          << "\nstate:   " << response.summary().state()
          << "\nentries: " << response.summary().entries() << "\n"
          << response.voucher_text();
  return absl::OkStatus();
}

absl::Status RunExtend(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(std::string guid, voucher::ParseGuid(command.args[0]));
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey buyer, ReadPublicKey(*command.Get("to")));
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  v1::ExtendVoucherRequest request;
  request.set_guid(guid);
  *request.mutable_buyer_key() = voucher::ToWireKey(buyer);
  v1::ExtendVoucherResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(
      server::FromGrpcStatus(stub->ExtendVoucher(&context, request, &response)));
  CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(*command.Get("out"), response.voucher_text(), 0644,
                                              WriteMode::kCreateNew));
  env.out << "extended " << voucher::FormatGuid(guid)
          << " to SHA256:" << HexEncode(buyer.Fingerprint()) << "; wrote " << *command.Get("out")
          << "\n";
  return absl::OkStatus();
}

absl::Status RunDeclareSupport(const ParsedCommand& command, Env& env) {
  // Checked here too, so that a typo is reported before any connection is made.
  v1::SupportDeclaration wanted;
  wanted.set_model(*command.Get("model"));
  wanted.set_security_updates_until(*command.Get("until"));
  wanted.set_disclosure_policy_url(*command.Get("policy-url"));
  wanted.set_sequence(1);
  CUSTODY_RETURN_IF_ERROR(protocol::ValidateSupportDeclaration(wanted));
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  v1::DeclareSupportRequest request;
  request.set_model(wanted.model());
  request.set_security_updates_until(wanted.security_updates_until());
  request.set_disclosure_policy_url(wanted.disclosure_policy_url());
  v1::DeclareSupportResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(
      server::FromGrpcStatus(stub->DeclareSupport(&context, request, &response)));
  v1::SupportDeclaration declared;
  if (!declared.ParseFromString(response.signed_declaration().payload())) {
    return absl::DataLossError("the service returned a declaration that does not parse");
  }
  env.out << "declared: " << declared.model() << " gets security updates until "
          << declared.security_updates_until() << " (sequence " << declared.sequence()
          << ", policy " << declared.disclosure_policy_url() << ")\n";
  return absl::OkStatus();
}

absl::Status RunSupport(const ParsedCommand& command, Env& env) {
  std::optional<crypto::EcPublicKey> trusted;
  if (command.Get("manufacturer-key").has_value()) {
    CUSTODY_ASSIGN_OR_RETURN(trusted, ReadPublicKey(*command.Get("manufacturer-key")));
  }
  // Public: server authentication only, no client credential.
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, PublicChannel(command));
  auto stub = v1::SupportDeclarations::NewStub(channel);
  v1::GetSupportDeclarationRequest request;
  request.set_model(*command.Get("model"));
  v1::GetSupportDeclarationResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(
      server::FromGrpcStatus(stub->GetSupportDeclaration(&context, request, &response)));
  // Verified against the key the caller trusts; without one, against the key the
  // service sent, which only shows that the declaration is intact.
  absl::StatusOr<crypto::EcPublicKey> sent = voucher::FromWireKey(response.manufacturer_key());
  if (!sent.ok()) return Annotate(sent.status(), "the service's manufacturer key");
  const crypto::EcPublicKey& key = trusted.has_value() ? *trusted : *sent;
  CUSTODY_ASSIGN_OR_RETURN(v1::SupportDeclaration declaration,
                           protocol::VerifySupportDeclaration(response.signed_declaration(), key,
                                                              *command.Get("model")));
  env.out << "model:                  " << declaration.model()
          << "\nsecurity updates until: " << declaration.security_updates_until()
          << "\ndisclosure policy:      " << declaration.disclosure_policy_url()
          << "\nsequence:               " << declaration.sequence()
          << "\nsigned by:              SHA256:" << HexEncode(key.Fingerprint())
          << (trusted.has_value() ? " (verified against --manufacturer-key)\n"
                                  : " (the key the service sent; pass --manufacturer-key to "
                                    "check it against one you trust)\n");
  return absl::OkStatus();
}

}  // namespace

std::vector<Command> ManufacturerCommands() {
  return {
      Command{CommandSpec{"admin-credential",
                          {{"state-dir", true, true},
                           {"name", true, true},
                           {"role", true, true},
                           {"out", true, true}},
                          0,
                          0,
                          "--state-dir DIR --name NAME --role operator|auditor --out PREFIX",
                          "issue an admin client credential from a service's admin CA (run on "
                          "the service's host)"},
              &RunAdminCredential},
      Command{CommandSpec{"manufacturer list", kAdminConnection, 0, 0, kAdminConnectionUsage,
                          "list the manufacturer's vouchers"},
              &RunList},
      Command{CommandSpec{"manufacturer show", kAdminConnection, 1, 1,
                          absl::StrCat("GUID ", kAdminConnectionUsage),
                          "show one voucher, with its text form"},
              &RunShow},
      Command{CommandSpec{"manufacturer extend",
                          WithAdminConnection({{"to", true, true}, {"out", true, true}}), 1, 1,
                          absl::StrCat("GUID --to BUYER.pub --out OUT ", kAdminConnectionUsage),
                          "extend a voucher to a buyer's key and export it (refuses to "
                          "overwrite OUT)"},
              &RunExtend},
      Command{CommandSpec{
                  "manufacturer declare-support",
                  WithAdminConnection(
                      {{"model", true, true}, {"until", true, true}, {"policy-url", true, true}}),
                  0, 0,
                  absl::StrCat("--model MODEL --until YYYY-MM-DD --policy-url https://... ",
                               kAdminConnectionUsage),
                  "sign and publish a model's security-update support period (the end "
                  "date may only move later)"},
              &RunDeclareSupport},
      Command{CommandSpec{"manufacturer support",
                          {{"address", true, true},
                           {"ca", true, true},
                           {"model", true, true},
                           {"manufacturer-key", true, false}},
                          0,
                          0,
                          "--model MODEL --address HOST:PORT --ca TLS-CA.pem "
                          "[--manufacturer-key VOUCHER.pub]",
                          "show a model's support declaration (public: no admin credential)"},
              &RunSupport},
  };
}

}  // namespace custody::custodyctl
