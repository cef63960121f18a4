#include "testutil/shared_data.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace pagoda::testing {

std::string SharedModelPath(const std::string& rel) {
  std::string base = std::string(PAGODA_SHARED_DIR) + "/models";
  return rel.empty() ? base : base + "/" + rel;
}

bool HaveSharedModel(const std::string& rel) {
  struct stat st {};
  return ::stat(SharedModelPath(rel).c_str(), &st) == 0;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
  char* p = ::mkdtemp(templ.data());
  return p ? std::string(p) : std::string();
}

std::string PagodaBinary() {
#ifdef PAGODA_BINARY
  return PAGODA_BINARY;
#else
  return "pagoda";
#endif
}

std::string SourceDir() { return PAGODA_SOURCE_DIR; }

int RunCommand(const std::string& cmd, std::string* out) {
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return -1;
  std::array<char, 4096> buf;
  size_t n;
  if (out) out->clear();
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    if (out) out->append(buf.data(), n);
  }
  int st = ::pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace pagoda::testing
