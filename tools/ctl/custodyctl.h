// custodyctl: the operator CLI. One binary for every operator task: keys,
// vouchers, the admin APIs of the manufacturer, rendezvous and owner services, and
// TO0.
//
// Exit codes: 0 success; 1 the command ran and failed (an invalid voucher, a
// refused key file, ...); 2 a usage error. Every error is one line on stderr that
// says what failed and, where it helps, what to do.

#ifndef CUSTODY_TOOLS_CTL_CUSTODYCTL_H_
#define CUSTODY_TOOLS_CTL_CUSTODYCTL_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "tools/ctl/cli.h"

namespace custody::custodyctl {

// What a command may use; injected so that tests can run commands in-process.
struct Env {
  std::ostream& out;
  Clock& clock;
  SecureRandom& random;
};

struct Command {
  CommandSpec spec;
  absl::Status (*run)(const ParsedCommand& command, Env& env);
};

std::vector<Command> KeyCommands();
std::vector<Command> VoucherCommands();
std::vector<Command> ManufacturerCommands();
std::vector<Command> RendezvousCommands();
std::vector<Command> OwnerCommands();

// Runs the command named by `argv` (without the program name). Errors go to `err`.
int RunCustodyctl(const std::vector<std::string>& argv, Env& env, std::ostream& err);

}  // namespace custody::custodyctl

#endif  // CUSTODY_TOOLS_CTL_CUSTODYCTL_H_
