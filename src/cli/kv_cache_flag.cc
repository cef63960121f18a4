// --kv-cache-dtype, shared by every command that builds an engine, so the
// flag reads and fails the same way everywhere.
#include <cstdio>

#include "cli/commands.h"
#include "engine/engine_config.h"

namespace pagoda {

void AddKvCacheDtypeOption(CLI::App& app, std::string* value) {
  app.add_option("--kv-cache-dtype", *value, kKvCacheDtypeHelp)->default_str("auto");
}

bool ApplyKvCacheDtype(const std::string& value, const char* command, EngineConfig* cfg) {
  StatusOr<KvCacheDtype> dtype = ParseKvCacheDtype(value);
  if (!dtype.ok()) {
    std::fprintf(stderr, "pagoda %s: %s\n", command, dtype.status().message().c_str());
    return false;
  }
  cfg->cache.cache_dtype = *dtype;
  return true;
}

}  // namespace pagoda
