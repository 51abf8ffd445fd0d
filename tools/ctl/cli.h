// Command-line parsing for custodyctl: a small, strict parser for
// "COMMAND [SUBCOMMAND] [--option value | --option=value | --flag] [ARG...]".
//
// custodyctl's options are spelled with hyphens (--owner-pub), which Abseil flags
// cannot express, and each command accepts only its own options; so the parser is
// the project's own. Unknown options, missing values and wrong argument counts are
// usage errors that name the problem.

#ifndef CUSTODY_TOOLS_CUSTODYCTL_CLI_H_
#define CUSTODY_TOOLS_CUSTODYCTL_CLI_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace custody::custodyctl {

struct OptionSpec {
  std::string name;  // Without the leading "--".
  bool takes_value = true;
  bool required = false;
};

struct CommandSpec {
  std::string name;  // "keygen", "voucher verify", ...
  std::vector<OptionSpec> options;
  // Positional arguments: at least min_args, at most max_args.
  size_t min_args = 0;
  size_t max_args = 0;
  std::string usage;  // One line: arguments and options.
  std::string summary;
};

struct ParsedCommand {
  std::vector<std::string> args;
  std::map<std::string, std::string> options;  // Flags map to "".

  bool Has(absl::string_view name) const { return options.count(std::string(name)) > 0; }
  std::optional<std::string> Get(absl::string_view name) const;
};

// Parses `argv` (everything after the command words) against `spec`.
// INVALID_ARGUMENT with a one-line message on any usage error.
absl::StatusOr<ParsedCommand> ParseCommand(const CommandSpec& spec,
                                           const std::vector<std::string>& argv);

}  // namespace custody::custodyctl

#endif  // CUSTODY_TOOLS_CUSTODYCTL_CLI_H_
