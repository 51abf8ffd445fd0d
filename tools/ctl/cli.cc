#include "tools/ctl/cli.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace custody::custodyctl {

std::optional<std::string> ParsedCommand::Get(absl::string_view name) const {
  auto it = options.find(std::string(name));
  if (it == options.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<ParsedCommand> ParseCommand(const CommandSpec& spec,
                                           const std::vector<std::string>& argv) {
  ParsedCommand parsed;
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (options_done || !absl::StartsWith(word, "--")) {
      parsed.args.push_back(word);
      continue;
    }
    if (word == "--") {
      options_done = true;
      continue;
    }
    std::string name = word.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* option = nullptr;
    for (const OptionSpec& candidate : spec.options) {
      if (candidate.name == name) option = &candidate;
    }
    if (option == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(spec.name, ": unknown option --", name,
                                                     "; usage: custodyctl ", spec.name, " ",
                                                     spec.usage));
    }
    if (parsed.Has(name)) {
      return absl::InvalidArgumentError(absl::StrCat(spec.name, ": --", name, " given twice"));
    }
    if (!option->takes_value) {
      if (value.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(spec.name, ": --", name, " takes no value"));
      }
      parsed.options[name] = "";
      continue;
    }
    if (!value.has_value()) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(absl::StrCat(spec.name, ": --", name, " needs a value"));
      }
      value = argv[++i];
    }
    if (value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(spec.name, ": --", name, " is empty"));
    }
    parsed.options[name] = *value;
  }
  for (const OptionSpec& option : spec.options) {
    if (option.required && !parsed.Has(option.name)) {
      return absl::InvalidArgumentError(absl::StrCat(spec.name, ": --", option.name,
                                                     " is required; usage: custodyctl ", spec.name,
                                                     " ", spec.usage));
    }
  }
  if (parsed.args.size() < spec.min_args || parsed.args.size() > spec.max_args) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec.name, ": expected ",
        spec.min_args == spec.max_args ? absl::StrCat(spec.min_args)
                                       : absl::StrCat(spec.min_args, " to ", spec.max_args),
        " argument", spec.max_args == 1 ? "" : "s", ", got ", parsed.args.size(),
        "; usage: custodyctl ", spec.name, " ", spec.usage));
  }
  return parsed;
}

}  // namespace custody::custodyctl
