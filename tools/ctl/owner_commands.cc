// custodyctl owner ...: the owner service's admin API (docs/owner.md).

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/protocol/owner_vouchers.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_text.h"
#include "custody/v1/owner.grpc.pb.h"
#include "server/grpc_status.h"
#include "tools/ctl/command_util.h"
#include "tools/ctl/custodyctl.h"

namespace custody::custodyctl {
namespace {

// The largest settings file: 64 settings of a 64-byte key and a 512-byte value.
constexpr size_t kMaxSettingsFileSize = 64 * 1024;
// The voucher text sent per import call: within the service's default message
// limit (64 KiB) with room for the framing.
constexpr size_t kMaxImportBytes = 60 * 1024;

absl::StatusOr<std::unique_ptr<v1::OwnerAdmin::Stub>> Connect(const ParsedCommand& command) {
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, AdminChannel(command));
  return v1::OwnerAdmin::NewStub(channel);
}

// One line per device: GUID, state, model/serial, and what needs attention.
void PrintDevice(const v1::OwnedDevice& d, std::ostream& out) {
  out << voucher::FormatGuid(d.guid()) << "  " << d.state() << "  " << d.model() << "/"
      << d.serial();
  if (!d.replacement_guid().empty()) out << "  now " << voucher::FormatGuid(d.replacement_guid());
  if (!d.last_error().empty()) out << "  (" << d.last_error() << ")";
  out << "\n";
}

absl::Status RunImport(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(std::vector<v1::OwnershipVoucher> vouchers,
                           ReadVouchers(command.args[0]));
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  // The service takes at most kMaxImportVouchers per call, within its message
  // limit; each call is whole or nothing, and importing again is harmless, so a
  // failed run can simply be repeated.
  size_t imported = 0;
  size_t start = 0;
  while (start < vouchers.size()) {
    v1::ImportVouchersRequest request;
    size_t end = start;
    while (end < vouchers.size() && end - start < protocol::kMaxImportVouchers) {
      const std::string text = voucher::VoucherToText(vouchers[end]);
      if (end > start && request.vouchers_text().size() + text.size() > kMaxImportBytes) break;
      request.mutable_vouchers_text()->append(text);
      ++end;
    }
    v1::ImportVouchersResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    absl::Status status =
        server::FromGrpcStatus(stub->ImportVouchers(&context, request, &response));
    if (!status.ok()) {
      if (start == 0) return status;
      return Annotate(
          status, absl::StrCat("the first ", start, " vouchers were imported; the rest were not"));
    }
    for (const v1::OwnedDevice& device : response.devices()) PrintDevice(device, env.out);
    imported += response.imported();
    start = end;
  }
  env.out << imported << " of " << vouchers.size()
          << " vouchers imported (the others were already held); they are registered at the "
             "rendezvous service automatically\n";
  return absl::OkStatus();
}

absl::Status RunList(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  std::string token;
  size_t total = 0;
  do {
    v1::ListDevicesRequest request;
    request.set_page_size(1000);
    request.set_page_token(token);
    v1::ListDevicesResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    CUSTODY_RETURN_IF_ERROR(
        server::FromGrpcStatus(stub->ListDevices(&context, request, &response)));
    for (const v1::OwnedDevice& device : response.devices()) PrintDevice(device, env.out);
    total += response.devices_size();
    token = response.next_page_token();
  } while (!token.empty());
  env.out << total << (total == 1 ? " device\n" : " devices\n");
  return absl::OkStatus();
}

absl::Status RunShow(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(std::string guid, voucher::ParseGuid(command.args[0]));
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  v1::GetDeviceRequest request;
  request.set_guid(guid);
  v1::GetDeviceResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(server::FromGrpcStatus(stub->GetDevice(&context, request, &response)));
  const v1::OwnedDevice& d = response.device();
  std::ostream& out = env.out;
  out << "guid:        " << voucher::FormatGuid(d.guid()) << "\nstate:       " << d.state()
      << "\nmodel:       " << d.model() << "\nserial:      " << d.serial()
      << "\nowner key:   SHA256:" << HexEncode(d.owner_key_fingerprint())
      << "\nentries:     " << d.entries()
      << "\nimported:    " << FormatUnixTime(d.imported_at_unix()) << "\n";
  if (d.registered_until_unix() != 0) {
    out << "registered:  until " << FormatUnixTime(d.registered_until_unix()) << "\n";
  }
  if (!d.last_error().empty()) out << "last error:  " << d.last_error() << "\n";
  if (d.onboarded_at_unix() != 0) {
    out << "onboarded:   " << FormatUnixTime(d.onboarded_at_unix())
        << "\nnew guid:    " << voucher::FormatGuid(d.replacement_guid())
        << "\nsoftware:    " << d.report().software_version() << "\ncertificate: serial "
        << d.operational_certificate_serial() << ", valid until "
        << FormatUnixTime(d.operational_certificate_not_after_unix()) << "\nsupport:     "
        << (d.security_updates_until().empty()
                ? "no declaration"
                : "security updates until " + d.security_updates_until())
        << "\n";
  }
  if (const std::optional<std::string> path = command.Get("replacement-voucher")) {
    if (response.replacement_voucher_text().empty()) {
      return absl::FailedPreconditionError(
          "the device has not onboarded, so there is no replacement voucher yet");
    }
    CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(*path, response.replacement_voucher_text(), 0644));
    out << "replacement voucher written to " << *path
        << " (extend it to a buyer to resell the device)\n";
  }
  return absl::OkStatus();
}

// Fills the request's scope from --model or --device (exactly one).
template <typename Request>
absl::Status SetScope(const ParsedCommand& command, Request& request) {
  const std::optional<std::string> model = command.Get("model");
  const std::optional<std::string> device = command.Get("device");
  if (model.has_value() == device.has_value()) {
    return absl::InvalidArgumentError("name exactly one of --model MODEL and --device GUID");
  }
  if (model.has_value()) {
    request.set_model(*model);
    return absl::OkStatus();
  }
  CUSTODY_ASSIGN_OR_RETURN(std::string guid, voucher::ParseGuid(*device));
  request.set_guid(guid);
  return absl::OkStatus();
}

// "key=value" lines; blank lines and lines starting with '#' are skipped.
absl::StatusOr<std::vector<v1::Setting>> ReadSettings(const std::string& path) {
  CUSTODY_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxSettingsFileSize));
  std::vector<v1::Setting> settings;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (stripped.empty() || stripped[0] == '#') continue;
    const size_t equals = stripped.find('=');
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", number, ": expected KEY=VALUE"));
    }
    v1::Setting setting;
    setting.set_key(std::string(absl::StripAsciiWhitespace(stripped.substr(0, equals))));
    setting.set_value(std::string(stripped.substr(equals + 1)));
    settings.push_back(std::move(setting));
  }
  return settings;
}

absl::Status RunSettingsSet(const ParsedCommand& command, Env& env) {
  v1::SetSettingsRequest request;
  CUSTODY_RETURN_IF_ERROR(SetScope(command, request));
  CUSTODY_ASSIGN_OR_RETURN(std::vector<v1::Setting> settings, ReadSettings(command.args[0]));
  for (v1::Setting& setting : settings) *request.add_settings() = std::move(setting);
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  v1::SetSettingsResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(server::FromGrpcStatus(stub->SetSettings(&context, request, &response)));
  env.out << (request.settings().empty() ? std::string("settings removed")
                                         : absl::StrCat(request.settings_size(), " settings set"))
          << "; devices get them when they onboard\n";
  return absl::OkStatus();
}

absl::Status RunSettingsGet(const ParsedCommand& command, Env& env) {
  v1::GetSettingsRequest request;
  CUSTODY_RETURN_IF_ERROR(SetScope(command, request));
  CUSTODY_ASSIGN_OR_RETURN(auto stub, Connect(command));
  v1::GetSettingsResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  CUSTODY_RETURN_IF_ERROR(server::FromGrpcStatus(stub->GetSettings(&context, request, &response)));
  for (const v1::Setting& setting : response.settings()) {
    env.out << setting.key() << "=" << setting.value() << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<Command> OwnerCommands() {
  const std::vector<OptionSpec> scope =
      WithAdminConnection({{"model", true, false}, {"device", true, false}});
  return {
      Command{CommandSpec{"owner import", kAdminConnection, 1, 1,
                          absl::StrCat("VOUCHERS ", kAdminConnectionUsage),
                          "import vouchers extended to this owner (operator); each is verified, "
                          "then registered at its rendezvous service automatically"},
              &RunImport},
      Command{CommandSpec{"owner list", kAdminConnection, 0, 0, kAdminConnectionUsage,
                          "list the devices with their state (imported, registered, onboarding, "
                          "onboarded)"},
              &RunList},
      Command{CommandSpec{
                  "owner show", WithAdminConnection({{"replacement-voucher", true, false}}), 1, 1,
                  absl::StrCat("GUID [--replacement-voucher OUT.pem] ", kAdminConnectionUsage),
                  "show one device (by either GUID); optionally write its replacement "
                  "voucher, for resale"},
              &RunShow},
      Command{
          CommandSpec{"owner settings set", scope, 1, 1,
                      absl::StrCat("FILE (--model MODEL | --device GUID) ", kAdminConnectionUsage),
                      "replace the settings of a model or a device from KEY=VALUE lines "
                      "(operator; an empty file removes them); a device's override its "
                      "model's"},
          &RunSettingsSet},
      Command{CommandSpec{"owner settings get", scope, 0, 0,
                          absl::StrCat("(--model MODEL | --device GUID) ", kAdminConnectionUsage),
                          "print the settings of a model or a device"},
              &RunSettingsGet},
  };
}

}  // namespace custody::custodyctl
