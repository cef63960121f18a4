// Locating test data: ../shared/models beside the checkout (read-only), and
// scratch directories for files a test writes.
#pragma once

#include <string>

namespace pagoda::testing {

// Absolute path of ../shared/models/<rel> (rel may be empty).
std::string SharedModelPath(const std::string& rel);
// True when that path exists. Tests that need it GTEST_SKIP() with a message
// naming the missing path when it is false:
//   if (!HaveSharedModel(p)) GTEST_SKIP() << "needs " << SharedModelPath(p);
bool HaveSharedModel(const std::string& rel);
// A fresh, empty temporary directory (removed by the OS tmp cleaner, not by us,
// so a failing test leaves its files for inspection).
std::string MakeTempDir(const std::string& prefix);
// The built `pagoda` binary and the repository root.
std::string PagodaBinary();
std::string SourceDir();
// Runs a shell command, returns its exit status and captures stdout.
int RunCommand(const std::string& cmd, std::string* out);

}  // namespace pagoda::testing
