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
#include "core/base/clock.h"
#include "core/base/program.h"
#include "core/base/random.h"
#include "core/base/status.h"
#include "core/base/text_proto.h"
#include "manufacturer/manufacturer_server.h"
#include "server/firewall.h"
#include "server/serve.h"

ABSL_FLAG(std::string, config, "", "manufacturer configuration (protobuf text format)");
ABSL_FLAG(bool, nftables_rules, false,
          "print the nftables rules that enforce server.max_connections and "
          "server.max_connections_per_peer for this configuration (load them with nft -f -), "
          "then exit");
ABSL_FLAG(std::string, state_dir, "", "overrides server.state_dir");

namespace custody::manufacturer {
namespace {

absl::Status Run(v1::ManufacturerConfig config) {
  if (!absl::GetFlag(FLAGS_state_dir).empty()) {
    config.mutable_server()->set_state_dir(absl::GetFlag(FLAGS_state_dir));
  }
  CUSTODY_ASSIGN_OR_RETURN(std::unique_ptr<Manufacturer> manufacturer,
                           Manufacturer::Open(std::move(config), SystemClock(), SystemRandom()));
  return server::ServeUntilSignal(manufacturer->server_config(), manufacturer->identity(),
                                  manufacturer->services());
}

}  // namespace
}  // namespace custody::manufacturer

int main(int argc, char** argv) {
  custody::server::PrepareProcess();
  custody::InitProgram("manufacturer_server", "manufacturer_server --config FILE");
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) {
    std::fprintf(stderr, "manufacturer_server: --config is required\n");
    return 2;
  }
  custody::v1::ManufacturerConfig config;
  absl::Status status = custody::ReadTextProtoFile(path, &config);
  if (status.ok() && absl::GetFlag(FLAGS_nftables_rules)) {
    status = custody::server::WriteNftablesRules(config.server(), "manufacturer");
    if (status.ok()) return 0;
  }
  if (status.ok()) status = custody::server::ConfigureLogging(config.server());
  if (status.ok()) status = custody::manufacturer::Run(std::move(config));
  if (!status.ok()) {
    std::fprintf(stderr, "manufacturer_server: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
