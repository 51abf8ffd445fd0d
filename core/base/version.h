// The version every binary reports (--version, the build_info metric).

#ifndef CUSTODY_CORE_BASE_VERSION_H_
#define CUSTODY_CORE_BASE_VERSION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace custody {

inline constexpr char kVersion[] = "0.5.0";

// "opt", "asan" or "debug": how this binary was compiled.
inline absl::string_view BuildType() {
#if defined(__SANITIZE_ADDRESS__)
  return "asan";
#elif defined(NDEBUG)
  return "opt";
#else
  return "debug";
#endif
}

// "<program> 0.5.0 (opt)", what --version prints.
inline std::string VersionLine(absl::string_view program) {
  return std::string(program) + " " + kVersion + " (" + std::string(BuildType()) + ")";
}

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_VERSION_H_
