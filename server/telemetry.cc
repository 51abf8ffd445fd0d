#include "server/telemetry.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "core/base/version.h"

namespace custody::server {
namespace {

// A field of /proc/self/status ("Threads", "VmRSS"), as a number; 0 if absent.
double ProcStatus(const char* field) {
  FILE* file = std::fopen("/proc/self/status", "re");
  if (file == nullptr) return 0;
  char line[256];
  double value = 0;
  const size_t length = std::strlen(field);
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::strncmp(line, field, length) == 0 && line[length] == ':') {
      value = std::strtod(line + length + 1, nullptr);
      break;
    }
  }
  std::fclose(file);
  return value;
}

double OpenDescriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // Not the directory's own descriptor.
}

}  // namespace

Telemetry::Telemetry(absl::string_view service, Clock& clock) : calls_(metrics_) {
  metrics_
      .AddGauge("custody_build_info", "The build this process runs (always 1).",
                {"service", "version", "build_type"})
      .With({service, kVersion, BuildType()})
      .Set(1);
  metrics_.AddGauge("custody_process_start_time_seconds", "When the process started (Unix time).")
      .With()
      .Set(absl::ToDoubleSeconds(clock.Now() - absl::UnixEpoch()));
  metrics_.AddCallbackGauge("custody_process_threads", "Threads of the process.",
                            [] { return ProcStatus("Threads"); });
  metrics_.AddCallbackGauge("custody_process_open_fds", "Open file descriptors of the process.",
                            [] { return OpenDescriptors(); });
  metrics_.AddCallbackGauge("custody_process_resident_memory_bytes",
                            "Resident memory of the process.",
                            [] { return ProcStatus("VmRSS") * 1024; });
}

}  // namespace custody::server
