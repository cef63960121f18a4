// RunCli: parses pagoda's command line and runs one subcommand
// (generate, mkmodel, bench). Returns the process exit code.
#pragma once

namespace pagoda {
int RunCli(int argc, char** argv);
}
