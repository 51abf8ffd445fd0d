// What every binary does with its command line first: --help lists the
// binary's own flags (those defined in its *_main.cc, not Abseil's or gRPC's),
// --helpfull all of them, and --version prints VersionLine(name) and exits 0.

#ifndef CUSTODY_CORE_BASE_PROGRAM_H_
#define CUSTODY_CORE_BASE_PROGRAM_H_

#include "absl/strings/string_view.h"

namespace custody {

// Call before absl::ParseCommandLine. `usage` is the one-line synopsis.
void InitProgram(absl::string_view name, absl::string_view usage);

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_PROGRAM_H_
