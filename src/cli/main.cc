// pagoda's command-line entry point; the subcommands live in src/cli/.
#include "cli/cli.h"

int main(int argc, char** argv) { return pagoda::RunCli(argc, argv); }
