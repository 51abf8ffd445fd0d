// rendezvous_server: owners register where their devices should reach them (TO0)
// and devices find their owner (TO1). docs/rendezvous.md.
//
//   rendezvous_server --config rendezvous.textproto

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
#include "rendezvous/rendezvous_server.h"
#include "server/firewall.h"
#include "server/serve.h"

ABSL_FLAG(std::string, config, "", "rendezvous configuration (protobuf text format)");
ABSL_FLAG(bool, nftables_rules, false,
          "print the nftables rules that enforce server.max_connections and "
          "server.max_connections_per_peer for this configuration (load them with nft -f -), "
          "then exit");
ABSL_FLAG(std::string, state_dir, "", "overrides server.state_dir");

namespace custody::rendezvous {
namespace {

absl::Status Run(v1::RendezvousConfig config) {
  if (!absl::GetFlag(FLAGS_state_dir).empty()) {
    config.mutable_server()->set_state_dir(absl::GetFlag(FLAGS_state_dir));
  }
  CUSTODY_ASSIGN_OR_RETURN(std::unique_ptr<Rendezvous> rendezvous,
                           Rendezvous::Open(std::move(config), SystemClock(), SystemRandom()));
  return server::ServeUntilSignal(rendezvous->config().server(), rendezvous->identity(),
                                  rendezvous->services());
}

}  // namespace
}  // namespace custody::rendezvous

int main(int argc, char** argv) {
  custody::server::PrepareProcess();
  custody::InitProgram("rendezvous_server", "rendezvous_server --config FILE");
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) {
    std::fprintf(stderr, "rendezvous_server: --config is required\n");
    return 2;
  }
  custody::v1::RendezvousConfig config;
  absl::Status status = custody::ReadTextProtoFile(path, &config);
  if (status.ok() && absl::GetFlag(FLAGS_nftables_rules)) {
    status = custody::server::WriteNftablesRules(config.server(), "rendezvous");
    if (status.ok()) return 0;
  }
  if (status.ok()) status = custody::server::ConfigureLogging(config.server());
  if (status.ok()) status = custody::rendezvous::Run(std::move(config));
  if (!status.ok()) {
    std::fprintf(stderr, "rendezvous_server: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
