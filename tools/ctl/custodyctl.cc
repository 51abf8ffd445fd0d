#include "tools/ctl/custodyctl.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/base/version.h"

namespace custody::custodyctl {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::vector<Command> AllCommands() {
  std::vector<Command> all = KeyCommands();
  for (Command& command : VoucherCommands()) all.push_back(std::move(command));
  for (Command& command : ManufacturerCommands()) all.push_back(std::move(command));
  for (Command& command : RendezvousCommands()) all.push_back(std::move(command));
  for (Command& command : OwnerCommands()) all.push_back(std::move(command));
  return all;
}

void PrintUsage(std::ostream& out, const std::vector<Command>& commands) {
  out << "usage: custodyctl COMMAND [ARGS]\n\ncommands:\n";
  for (const Command& command : commands) {
    out << "  " << command.spec.name << " " << command.spec.usage << "\n      "
        << command.spec.summary << "\n";
  }
  out << "  --version\n      print the version and build type\n";
  out << "\nexit codes: 0 success, 1 failure, 2 usage error\n";
}

}  // namespace

int RunCustodyctl(const std::vector<std::string>& argv, Env& env, std::ostream& err) {
  const std::vector<Command> commands = AllCommands();
  if (!argv.empty() && (argv[0] == "--version" || argv[0] == "version")) {
    env.out << VersionLine("custodyctl") << "\n";
    return 0;
  }
  if (argv.empty() || argv[0] == "help" || argv[0] == "--help" || argv[0] == "-h") {
    PrintUsage(argv.empty() ? err : env.out, commands);
    return argv.empty() ? kExitUsage : 0;
  }
  // The longest command name that the first words spell.
  const Command* match = nullptr;
  size_t words = 0;
  for (const Command& command : commands) {
    const std::vector<std::string> name = absl::StrSplit(command.spec.name, ' ');
    if (name.size() <= argv.size() && std::equal(name.begin(), name.end(), argv.begin()) &&
        name.size() > words) {
      match = &command;
      words = name.size();
    }
  }
  if (match == nullptr) {
    err << "custodyctl: unknown command \""
        << absl::StrJoin(argv.begin(), argv.begin() + std::min<size_t>(2, argv.size()), " ")
        << "\"; run custodyctl help\n";
    return kExitUsage;
  }
  const std::vector<std::string> rest(argv.begin() + words, argv.end());
  if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
    env.out << "usage: custodyctl " << match->spec.name << " " << match->spec.usage << "\n"
            << match->spec.summary << "\n";
    return 0;
  }
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(match->spec, rest);
  if (!parsed.ok()) {
    err << "custodyctl " << parsed.status().message() << "\n";
    return kExitUsage;
  }
  const absl::Status status = match->run(*parsed, env);
  if (!status.ok()) {
    err << "custodyctl " << match->spec.name << ": " << status.message() << "\n";
    return kExitFailure;
  }
  return 0;
}

}  // namespace custody::custodyctl
