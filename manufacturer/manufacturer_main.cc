// manufacturer_server: device initialisation on the factory line, and the admin
// API that exports vouchers to buyers. docs/manufacturer.md.
//
//   manufacturer_server --config manufacturer.textproto

#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/base/status.h"
#include "core/base/text_proto.h"
#include "core/pki/service_identity.h"
#include "core/storage/sqlite_store.h"
#include "manufacturer/manufacturer_service.h"
#include "server/serve.h"
#include "server/step_deadlines.h"

ABSL_FLAG(std::string, config, "", "manufacturer configuration (protobuf text format)");
ABSL_FLAG(std::string, state_dir, "", "overrides server.state_dir");

namespace custody::manufacturer {
namespace {

absl::Status Run(v1::ManufacturerConfig config) {
  if (!absl::GetFlag(FLAGS_state_dir).empty()) {
    config.mutable_server()->set_state_dir(absl::GetFlag(FLAGS_state_dir));
  }
  CUSTODY_RETURN_IF_ERROR(server::PrepareServerConfig(*config.mutable_server()));
  const std::string& dir = config.server().state_dir();
  const crypto::Curve curve =
      config.curve() == v1::CURVE_P384 ? crypto::Curve::kP384 : crypto::Curve::kP256;
  const std::string organization = config.organization().empty() ? "Manufacturer"
                                                                  : config.organization();
  CUSTODY_ASSIGN_OR_RETURN(
      pki::ServiceIdentity identity,
      pki::LoadOrCreateServiceIdentity(dir, server::IdentityOptions(config.server(), "manufacturer"),
                                       SystemClock(), SystemRandom()));
  // The manufacturer's own keys: the voucher key and the device CA.
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey voucher_key,
                           pki::LoadOrCreateKey(dir, "voucher", curve));
  CUSTODY_ASSIGN_OR_RETURN(
      pki::CertificateAuthority device_ca,
      pki::LoadOrCreateCertificateAuthority(dir, "device-ca",
                                            {organization + " Device CA", organization, "devices"},
                                            curve, absl::Hours(24 * 365 * 30), SystemClock(),
                                            SystemRandom()));
  CUSTODY_ASSIGN_OR_RETURN(ConfigModelCatalog catalog, ConfigModelCatalog::New(config, voucher_key));
  CUSTODY_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> store,
                           storage::OpenSqliteStore(dir + "/manufacturer.db"));

  protocol::ManufacturerKeys keys;
  keys.voucher_key = &voucher_key;
  keys.device_ca_key = &device_ca.key;
  keys.device_ca_chain = {device_ca.certificate};
  protocol::DiServerDeps deps{store.get(), &SystemClock(), &SystemRandom(), &keys, &catalog};
  server::StepDeadlines deadlines(SystemClock());
  DeviceInitializationService di(deps, absl::Seconds(config.server().step_deadline_seconds()),
                                 deadlines);
  ManufacturerAdminService admin(*store, SystemClock(), voucher_key, identity.admin_ca);
  return server::ServeUntilSignal(config.server(), identity, {{&di}, {&admin}});
}

}  // namespace
}  // namespace custody::manufacturer

int main(int argc, char** argv) {
  custody::server::PrepareProcess();
  absl::SetProgramUsageMessage("manufacturer_server --config FILE");
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) {
    std::fprintf(stderr, "manufacturer_server: --config is required\n");
    return 2;
  }
  custody::v1::ManufacturerConfig config;
  absl::Status status = custody::ReadTextProtoFile(path, &config);
  if (status.ok()) status = custody::manufacturer::Run(std::move(config));
  if (!status.ok()) {
    std::fprintf(stderr, "manufacturer_server: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
