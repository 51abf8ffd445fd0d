// custodyctl: see tools/ctl/custodyctl.h and `custodyctl help`.

#include <iostream>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/base/random.h"
#include "tools/ctl/custodyctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  custody::custodyctl::Env env{std::cout, custody::SystemClock(), custody::SystemRandom()};
  return custody::custodyctl::RunCustodyctl(args, env, std::cerr);
}
