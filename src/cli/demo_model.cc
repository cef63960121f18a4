// The built-in demo model: a small random-weight Llama that pagoda writes
// itself on first use, so the first command of the README needs no
// download. Kept in $XDG_CACHE_HOME/pagoda (or ~/.cache/pagoda, or /tmp).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "model/random_model.h"

namespace pagoda {

std::string DemoModelPath() {
  std::string dir;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = std::string(x) + "/pagoda";
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.cache/pagoda";
  else dir = "/tmp/pagoda";
  // mkdir -p for the two levels we may need.
  ::mkdir(dir.substr(0, dir.rfind('/')).c_str(), 0755);
  ::mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/demo-llama-v1.gguf";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return path;
  RandomModelSpec spec;
  spec.arch = Architecture::kLlama;
  spec.vocab_size = 1024;
  spec.hidden_size = 128;
  spec.intermediate_size = 352;
  spec.num_layers = 4;
  spec.num_heads = 8;
  spec.num_kv_heads = 4;
  spec.dtype = DType::kF16;
  spec.seed = 20261128;
  // Write to a temporary name and rename, so a concurrent or interrupted
  // run never leaves a half-written model behind.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  Status s = WriteRandomGguf(spec, tmp);
  if (!s.ok() || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "pagoda: cannot write the demo model to %s: %s\n", path.c_str(),
                 s.ok() ? "rename failed" : s.message().c_str());
    std::remove(tmp.c_str());
    return "";
  }
  return path;
}

}  // namespace pagoda
