// A real EngineClient on a tiny random-weight model, shared by the API
// tests of one binary, and ApiServers started over it on loopback port 0.
#pragma once

#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "engine/engine_client.h"
#include "model/random_model.h"
#include "server/api_server.h"
#include "server/test_client.h"

namespace pagoda::testing {

inline constexpr int64_t kMaxModelLen = 128;

// An engine on a random model written to a temporary folder. `slow`
// makes a wider, deeper model with a long context, for tests that need a
// request to still be running a while after it started.
inline std::unique_ptr<EngineClient> MakeEngine(bool slow) {
  char dir[] = "/tmp/pagoda_server_test_XXXXXX";
  PAGODA_CHECK(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/model.gguf";
  RandomModelSpec spec;
  spec.vocab_size = 512;
  spec.hidden_size = slow ? 256 : 64;
  spec.intermediate_size = slow ? 768 : 128;
  spec.num_layers = slow ? 6 : 2;
  spec.num_heads = 4;
  spec.num_kv_heads = 2;
  spec.seed = 7;
  PAGODA_CHECK(WriteRandomGguf(spec, path).ok());
  EngineConfig config;
  config.model.model = path;
  config.model.threads = 1;
  config.model.max_model_len = slow ? 2048 : kMaxModelLen;
  config.cache.block_size = 16;
  config.cache.num_kv_blocks = slow ? 1024 : 96;
  auto client = EngineClient::Create(config);
  PAGODA_CHECK(client.ok()) << client.status().ToString();
  return std::move(client).value();
}

class SharedEngine {
 public:
  static EngineClient* Get() {
    static EngineClient* instance = MakeEngine(/*slow=*/false).release();  // lives for the process
    return instance;
  }
};

inline std::unique_ptr<ApiServer> StartApiServer(ServeOptions options = {}, EngineClient* engine = nullptr) {
  options.http.host = "127.0.0.1";
  options.http.port = 0;
  if (options.served_model_names.empty()) options.served_model_names = {"test-model"};
  auto server = ApiServer::Create(engine ? engine : SharedEngine::Get(), std::move(options));
  PAGODA_CHECK(server.ok()) << server.status().ToString();
  PAGODA_CHECK((*server)->Start().ok());
  return std::move(server).value();
}

// The value of the first sample of `name` whose line contains `label`
// (e.g. finished_reason="abort") in a Prometheus text body, or -1.
inline double MetricValue(const std::string& metrics, const std::string& name, const std::string& label = "") {
  size_t start = 0;
  while (start < metrics.size()) {
    size_t end = metrics.find('\n', start);
    if (end == std::string::npos) end = metrics.size();
    const std::string line = metrics.substr(start, end - start);
    start = end + 1;
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != '{' && line[name.size()] != ' ') continue;
    if (!label.empty() && line.find(label) == std::string::npos) continue;
    return std::atof(line.c_str() + line.rfind(' ') + 1);
  }
  return -1;
}

}  // namespace pagoda::testing
