// custody_device: the device daemon and its commands. docs/device.md.
//
//   custody_device --config device.textproto init     run DI against the manufacturer
//   custody_device --config device.textproto status   show the credential
//   custody_device --config device.textproto locate   run TO1: find and verify the owner
//   custody_device --config device.textproto onboard  run TO1 then TO2 once: join the owner
//   custody_device --config device.textproto run      the daemon: onboard (retrying), stay enrolled

#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/base/clock.h"
#include "core/base/program.h"
#include "core/base/random.h"
#include "core/base/text_proto.h"
#include "device_client/initialize.h"
#include "device_client/locate.h"
#include "device_client/onboard.h"

ABSL_FLAG(std::string, config, "", "device configuration (protobuf text format)");

int main(int argc, char** argv) {
  custody::InitProgram("custody_device",
                       "custody_device --config FILE init|status|locate|onboard|run");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2 || absl::GetFlag(FLAGS_config).empty()) {
    std::fprintf(stderr, "usage: custody_device --config FILE init|status|locate|onboard|run\n");
    return 2;
  }
  custody::v1::DeviceConfig config;
  absl::Status status = custody::ReadTextProtoFile(absl::GetFlag(FLAGS_config), &config);
  const std::string command = args[1];
  if (status.ok()) {
    if (command == "init") {
      status = custody::device::RunInit(config, custody::SystemRandom(), std::cout);
    } else if (command == "locate") {
      status = custody::device::RunLocate(config, std::cout);
    } else if (command == "onboard") {
      status = custody::device::RunOnboard(config, custody::SystemClock(), custody::SystemRandom(),
                                           std::cout);
    } else if (command == "run") {
      // SIGTERM and SIGINT are waited for, in every thread the daemon starts.
      sigset_t signals;
      sigemptyset(&signals);
      sigaddset(&signals, SIGTERM);
      sigaddset(&signals, SIGINT);
      pthread_sigmask(SIG_BLOCK, &signals, nullptr);
      status = custody::device::RunDaemon(config, custody::SystemClock(), custody::SystemRandom(),
                                          std::cout);
    } else if (command == "status") {
      status = custody::device::RunStatus(config, custody::SystemClock(), std::cout);
    } else {
      std::fprintf(stderr,
                   "custody_device: unknown command \"%s\" (init, status, locate, onboard, run)\n",
                   command.c_str());
      return 2;
    }
  }
  if (!status.ok()) {
    std::fprintf(stderr, "custody_device %s: %s\n", command.c_str(),
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
