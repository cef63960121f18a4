#include "cli/cli.h"

#include <cstdio>

namespace pagoda {
int RunCli(int argc, char** argv) {
  std::fprintf(stderr, "pagoda: no subcommands yet\n");
  return 1;
}
}  // namespace pagoda
