#include "core/base/program.h"

#include <string>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/version.h"

namespace custody {

void InitProgram(absl::string_view name, absl::string_view usage) {
  // Kept for the process's life: the version callback reads it.
  static std::string* const program = new std::string(name);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "_main.cc");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.version_string = [] { return absl::StrCat(VersionLine(*program), "\n"); };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(absl::StrCat(usage, "\n\n", VersionLine(name)));
}

}  // namespace custody
