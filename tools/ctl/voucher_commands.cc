// custodyctl voucher inspect | verify | extend | sample.
//
// Every command reads all the voucher blocks of its FILE, so an owner can handle a
// file of thousands of vouchers in one call; a failure names the voucher by its
// position and GUID.

#include <sys/stat.h>

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/x509_certificate.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_text.h"
#include "core/voucher/voucher_verify.h"
#include "nlohmann/json.hpp"
#include "tools/ctl/command_util.h"
#include "tools/ctl/custodyctl.h"

namespace custody::custodyctl {
namespace {

using json = nlohmann::ordered_json;

constexpr size_t kMaxTrustRoots = 64;

// What to say about a voucher that failed, and how to name it.
std::string VoucherName(const std::vector<v1::OwnershipVoucher>& all, size_t index) {
  v1::VoucherHeader header;
  std::string name = absl::StrCat("voucher ", index + 1);
  if (all.size() == 1) name = "voucher";
  if (ParseStrict(all[index].header(), voucher::kMaxHeaderSize, "header", &header).ok() &&
      header.guid().value().size() == voucher::kGuidSize) {
    absl::StrAppend(&name, " ", voucher::FormatGuid(header.guid().value()));
  }
  return name;
}

json DescribeVerified(const v1::OwnershipVoucher& voucher,
                      const voucher::VerifiedVoucher& verified) {
  const v1::DeviceInfo& info = verified.header.device_info();
  json out;
  out["guid"] = voucher::FormatGuid(verified.guid());
  out["model"] = info.model();
  out["serial"] = info.serial();
  out["mud_url"] = info.mud_url();
  json rendezvous = json::array();
  for (const v1::RendezvousEndpoint& endpoint : verified.header.rendezvous_info().endpoints()) {
    rendezvous.push_back(absl::StrCat(endpoint.host(), ":", endpoint.port()));
  }
  out["rendezvous"] = rendezvous;
  out["manufacturer_key"] = KeyId(verified.manufacturer_key);
  out["manufacturer_curve"] = std::string(crypto::CurveName(verified.manufacturer_key.curve()));
  absl::StatusOr<crypto::Certificate> device =
      crypto::Certificate::FromDer(voucher.device_certificate_chain(0));
  out["device_certificate"] =
      device.ok() ? absl::CHexEscape(device->Subject().common_name) : "(unreadable)";
  out["device_key"] = KeyId(verified.device_key);
  json owners = json::array();
  for (size_t i = 0; i < verified.owner_keys.size(); ++i) {
    owners.push_back({{"entry", i},
                      {"key", KeyId(verified.owner_keys[i])},
                      {"curve", std::string(crypto::CurveName(verified.owner_keys[i].curve()))}});
  }
  out["owners"] = owners;
  out["current_owner"] = KeyId(verified.current_owner());
  return out;
}

void PrintVerified(std::ostream& out, const json& v) {
  out << "  guid:          " << v["guid"].get<std::string>() << "\n"
      << "  model:         " << v["model"].get<std::string>() << "\n"
      << "  serial:        " << v["serial"].get<std::string>() << "\n"
      << "  mud url:       " << v["mud_url"].get<std::string>() << "\n";
  for (const auto& endpoint : v["rendezvous"]) {
    out << "  rendezvous:    " << endpoint.get<std::string>() << "\n";
  }
  out << "  manufacturer:  " << v["manufacturer_key"].get<std::string>() << " ("
      << v["manufacturer_curve"].get<std::string>() << ")\n"
      << "  device:        " << v["device_certificate"].get<std::string>() << ", key "
      << v["device_key"].get<std::string>() << "\n"
      << "  owners:        " << v["owners"].size() << "\n";
  for (const auto& owner : v["owners"]) {
    out << "    entry " << owner["entry"].get<size_t>() << ": " << owner["key"].get<std::string>()
        << " (" << owner["curve"].get<std::string>() << ")\n";
  }
  out << "  current owner: " << v["current_owner"].get<std::string>() << "\n";
}

absl::Status RunInspect(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(std::vector<v1::OwnershipVoucher> vouchers,
                           ReadVouchers(command.args[0]));
  json all = json::array();
  size_t invalid = 0;
  for (size_t i = 0; i < vouchers.size(); ++i) {
    absl::StatusOr<voucher::VerifiedVoucher> verified =
        voucher::VerifyVoucher(vouchers[i], voucher::VerifyOptions{});
    json entry;
    if (verified.ok()) {
      entry = DescribeVerified(vouchers[i], *verified);
      entry["valid"] = true;
      entry["signed_by_manufacturer"] = verified->signed_by_manufacturer();
    } else {
      ++invalid;
      entry["valid"] = false;
      entry["error"] = std::string(verified.status().message());
      entry["failed_check"] = FailedCheck(verified.status());
    }
    all.push_back(entry);
    if (!command.Has("json")) {
      env.out << "voucher " << i + 1 << " of " << vouchers.size() << "\n";
      if (verified.ok()) {
        PrintVerified(env.out, entry);
        if (verified->signed_by_manufacturer()) {
          env.out << "  status:        signatures and hashes valid (use voucher verify to check "
                     "owner, manufacturer and device CA)\n";
        } else {
          env.out << "  status:        UNSIGNED: no entries, so nothing attributes this header "
                     "to the manufacturer (only the device can check it)\n";
        }
      } else {
        env.out << "  status:        INVALID: " << verified.status().message() << "\n";
      }
    }
  }
  if (command.Has("json")) env.out << json{{"vouchers", all}}.dump(2) << "\n";
  if (invalid > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(invalid, " of ", vouchers.size(), " vouchers are invalid"));
  }
  return absl::OkStatus();
}

absl::Status RunVerify(const ParsedCommand& command, Env& env) {
  voucher::VerifyOptions options;
  if (std::optional<std::string> path = command.Get("owner-pub")) {
    CUSTODY_ASSIGN_OR_RETURN(options.expected_owner, ReadPublicKey(*path));
  }
  if (std::optional<std::string> path = command.Get("manufacturer-pub")) {
    CUSTODY_ASSIGN_OR_RETURN(options.expected_manufacturer, ReadPublicKey(*path));
  }
  if (std::optional<std::string> path = command.Get("trust-root")) {
    CUSTODY_ASSIGN_OR_RETURN(std::string pem,
                             ReadFileBounded(*path, crypto::kMaxCertificatePemSize));
    absl::StatusOr<std::vector<crypto::Certificate>> roots =
        crypto::Certificate::ListFromPem(pem, kMaxTrustRoots);
    if (!roots.ok()) return Annotate(roots.status(), *path);
    options.trusted_roots = *std::move(roots);
  }
  options.now = env.clock.Now();
  CUSTODY_ASSIGN_OR_RETURN(std::vector<v1::OwnershipVoucher> vouchers,
                           ReadVouchers(command.args[0]));
  for (size_t i = 0; i < vouchers.size(); ++i) {
    absl::StatusOr<voucher::VerifiedVoucher> verified =
        voucher::VerifyVoucher(vouchers[i], options);
    if (!verified.ok()) {
      return Annotate(verified.status(), absl::StrCat(VoucherName(vouchers, i), " INVALID"));
    }
  }
  if (vouchers.size() == 1) {
    env.out << "voucher OK\n";
  } else {
    env.out << vouchers.size() << " vouchers OK\n";
  }
  return absl::OkStatus();
}

absl::Status RunExtend(const ParsedCommand& command, Env& env) {
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey owner_key,
                           ReadPrivateKey(*command.Get("owner-key")));
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey next, ReadPublicKey(*command.Get("to")));
  CUSTODY_ASSIGN_OR_RETURN(std::vector<v1::OwnershipVoucher> vouchers,
                           ReadVouchers(command.args[0]));
  std::string text;
  for (size_t i = 0; i < vouchers.size(); ++i) {
    voucher::ExtendOptions extend;
    extend.trust_unsigned_header = command.Has("trust-unsigned-header");
    absl::StatusOr<v1::OwnershipVoucher> extended =
        voucher::ExtendVoucher(vouchers[i], owner_key, next, extend);
    if (!extended.ok()) {
      std::string hint;
      if (FailedCheck(extended.status()) == "voucher.owner") {
        hint = "; --owner-key must be the key of the voucher's current owner";
      } else if (FailedCheck(extended.status()) == "voucher.unsigned") {
        hint = "; add --trust-unsigned-header only for vouchers from your own factory records";
      }
      return Annotate(
          absl::Status(extended.status().code(), absl::StrCat(extended.status().message(), hint)),
          VoucherName(vouchers, i));
    }
    text += voucher::VoucherToText(*extended);
  }
  const std::string out_path = *command.Get("out");
  absl::Status written = WriteFileAtomically(out_path, text, 0644, WriteMode::kCreateNew);
  if (!written.ok()) return written;
  env.out << "extended " << vouchers.size() << (vouchers.size() == 1 ? " voucher" : " vouchers")
          << " to " << KeyId(next) << "; wrote " << out_path << "\n";
  return absl::OkStatus();
}

absl::Status WriteNew(const std::string& path, absl::string_view contents, mode_t mode) {
  return WriteFileAtomically(path, contents, mode, WriteMode::kCreateNew);
}

absl::Status WriteKeyPair(const std::string& dir, const std::string& name,
                          const crypto::EcPrivateKey& key) {
  CUSTODY_RETURN_IF_ERROR(key.SavePemFile(absl::StrCat(dir, "/", name, ".key")));
  return WriteNew(absl::StrCat(dir, "/", name, ".pub"), key.public_key().ToSpkiPem(), 0644);
}

absl::Status RunSample(const ParsedCommand& command, Env& env) {
  voucher::SampleOptions options;
  options.now = env.clock.Now();
  if (std::optional<std::string> curve = command.Get("curve")) {
    CUSTODY_ASSIGN_OR_RETURN(options.curve, crypto::ParseCurve(*curve));
  }
  const std::string dir = *command.Get("out");
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("creating ", dir));
  }
  CUSTODY_ASSIGN_OR_RETURN(voucher::SampleVoucherSet set,
                           voucher::MakeSampleVoucherSet(options, env.random));
  v1::VoucherHeader header;
  CUSTODY_RETURN_IF_ERROR(
      ParseStrict(set.stages.back().header(), voucher::kMaxHeaderSize, "header", &header));
  const std::string guid = header.guid().value();
  CUSTODY_RETURN_IF_ERROR(WriteKeyPair(dir, "manufacturer", set.manufacturer_key));
  CUSTODY_RETURN_IF_ERROR(set.device_ca_key.SavePemFile(dir + "/device-ca.key"));
  CUSTODY_RETURN_IF_ERROR(WriteNew(dir + "/device-ca.pem", set.device_ca.ToPem(), 0644));
  CUSTODY_RETURN_IF_ERROR(set.device_key.SavePemFile(dir + "/device.key"));
  CUSTODY_RETURN_IF_ERROR(WriteNew(dir + "/device.pem", set.device_certificate.ToPem(), 0644));
  CUSTODY_RETURN_IF_ERROR(WriteNew(dir + "/device-hmac-secret.hex",
                                   HexEncode(set.device_secret.secret().Reveal()) + "\n", 0600));
  for (size_t i = 0; i < set.owner_keys.size(); ++i) {
    CUSTODY_RETURN_IF_ERROR(WriteKeyPair(dir, absl::StrCat("owner", i + 1), set.owner_keys[i]));
  }
  for (size_t i = 0; i < set.stages.size(); ++i) {
    CUSTODY_RETURN_IF_ERROR(WriteNew(absl::StrCat(dir, "/voucher-", i, ".pem"),
                                     voucher::VoucherToText(set.stages[i]), 0644));
  }
  CUSTODY_RETURN_IF_ERROR(
      WriteNew(dir + "/voucher.pem", voucher::VoucherToText(set.stages.back()), 0644));
  env.out << "wrote a sample set to " << dir << ":\n"
          << "  manufacturer.key/.pub      manufacturer voucher-signing key\n"
          << "  device-ca.key/.pem         the manufacturer's device CA (trust root)\n"
          << "  device.key/.pem            the device attestation key and certificate\n"
          << "  device-hmac-secret.hex     the device's HMAC secret (mode 0600)\n"
          << "  owner1.key/.pub, owner2... the owners, in order\n"
          << "  voucher-0.pem ...          the voucher after 0, 1, 2 extensions\n"
          << "  voucher.pem                the final voucher (current owner: owner"
          << set.owner_keys.size() << ")\n"
          << "guid " << voucher::FormatGuid(guid) << "\n";
  return absl::OkStatus();
}

}  // namespace

std::vector<Command> VoucherCommands() {
  return {
      Command{CommandSpec{"voucher inspect",
                          {{"json", false, false}},
                          1,
                          1,
                          "FILE [--json]",
                          "show each voucher in FILE: GUID, device, manufacturer, owners"},
              &RunInspect},
      Command{CommandSpec{"voucher verify",
                          {{"owner-pub", true, false},
                           {"manufacturer-pub", true, false},
                           {"trust-root", true, false}},
                          1,
                          1,
                          "FILE [--owner-pub PUB] [--manufacturer-pub PUB] [--trust-root CA.pem]",
                          "verify every voucher in FILE; prints \"voucher OK\" or names the "
                          "failed check (exit 1)"},
              &RunVerify},
      Command{CommandSpec{"voucher extend",
                          {{"owner-key", true, true},
                           {"to", true, true},
                           {"out", true, true},
                           {"trust-unsigned-header", false, false}},
                          1,
                          1,
                          "FILE --owner-key KEY --to NEXT.pub --out OUT [--trust-unsigned-header]",
                          "extend every voucher in FILE from its current owner (KEY) to "
                          "NEXT.pub; refuses to overwrite OUT"},
              &RunExtend},
      Command{CommandSpec{"voucher sample",
                          {{"out", true, true}, {"curve", true, false}},
                          0,
                          0,
                          "--out DIR [--curve p256|p384]",
                          "create a consistent sample set (keys, device CA, a voucher "
                          "extended twice) for tests and demos"},
              &RunSample},
  };
}

}  // namespace custody::custodyctl
