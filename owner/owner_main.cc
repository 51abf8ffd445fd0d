// owner_server: imports vouchers, registers them at the rendezvous service
// (automatic TO0) and onboards devices (TO2). docs/owner.md.
//
//   owner_server --config owner.textproto

#include <signal.h>
#include <unistd.h>

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
#include "owner/owner_server.h"
#include "server/firewall.h"
#include "server/serve.h"

ABSL_FLAG(std::string, config, "", "owner configuration (protobuf text format)");
ABSL_FLAG(bool, nftables_rules, false,
          "print the nftables rules that enforce server.max_connections and "
          "server.max_connections_per_peer for this configuration (load them with nft -f -), "
          "then exit");
ABSL_FLAG(std::string, state_dir, "", "overrides server.state_dir");
ABSL_FLAG(uint32_t, test_crash_after_to2_message, 0,
          "fault testing only: the process kills itself (SIGKILL) right after it has handled "
          "this TO2 message (60..70) and before it answers");

namespace custody::owner {
namespace {

absl::Status Run(v1::OwnerConfig config) {
  if (!absl::GetFlag(FLAGS_state_dir).empty()) {
    config.mutable_server()->set_state_dir(absl::GetFlag(FLAGS_state_dir));
  }
  OwnerOptions options;
  const uint32_t crash_after = absl::GetFlag(FLAGS_test_crash_after_to2_message);
  if (crash_after != 0) {
    std::fprintf(stderr, "owner_server: fault test: will crash after TO2 message %u\n",
                 crash_after);
    options.after_message = [crash_after](custody::protocol::MessageType type) {
      if (custody::protocol::MessageNumber(type) == crash_after) ::kill(::getpid(), SIGKILL);
    };
  }
  CUSTODY_ASSIGN_OR_RETURN(
      std::unique_ptr<Owner> owner,
      Owner::Open(std::move(config), SystemClock(), SystemRandom(), std::move(options)));
  return server::ServeUntilSignal(owner->config().server(), owner->identity(), owner->services());
}

}  // namespace
}  // namespace custody::owner

int main(int argc, char** argv) {
  custody::server::PrepareProcess();
  custody::InitProgram("owner_server", "owner_server --config FILE");
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) {
    std::fprintf(stderr, "owner_server: --config is required\n");
    return 2;
  }
  custody::v1::OwnerConfig config;
  absl::Status status = custody::ReadTextProtoFile(path, &config);
  if (status.ok() && absl::GetFlag(FLAGS_nftables_rules)) {
    status = custody::server::WriteNftablesRules(config.server(), "owner");
    if (status.ok()) return 0;
  }
  if (status.ok()) status = custody::server::ConfigureLogging(config.server());
  if (status.ok()) status = custody::owner::Run(std::move(config));
  if (!status.ok()) {
    std::fprintf(stderr, "owner_server: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
