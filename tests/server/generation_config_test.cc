// Default sampling parameters from generation_config.json
// (--generation-config): used when a request leaves a field out, overridden
// when it sets one; "vllm" ignores the file.
#include <fstream>

#include "server/server_fixture.h"

namespace pagoda {
namespace {

using nlohmann::json;
using testing::PostJson;

std::string WriteGenerationConfig(const json& config) {
  char dir[] = "/tmp/pagoda_genconfig_XXXXXX";
  PAGODA_CHECK(::mkdtemp(dir) != nullptr);
  std::ofstream(std::string(dir) + "/generation_config.json") << config.dump();
  return dir;
}

TEST(GenerationConfigTest, SuppliesDefaultsThatRequestsOverride) {
  ServeOptions options;
  options.generation_config = WriteGenerationConfig({{"temperature", 0.0}, {"max_new_tokens", 3}});
  auto server = testing::StartApiServer(options);
  const json body = {{"prompt", "defaults"}, {"ignore_eos", true}};
  json a = PostJson(server->port(), "/v1/completions", body).Json();
  json b = PostJson(server->port(), "/v1/completions", body).Json();
  EXPECT_EQ(a["usage"]["completion_tokens"], 3);           // max_new_tokens
  EXPECT_EQ(a["choices"][0]["text"], b["choices"][0]["text"]);  // temperature 0: greedy
  json chat = PostJson(server->port(), "/v1/chat/completions",
                       {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"ignore_eos", true}})
                  .Json();
  EXPECT_EQ(chat["usage"]["completion_tokens"], 3);
  json longer = body;
  longer["max_tokens"] = 5;
  EXPECT_EQ(PostJson(server->port(), "/v1/completions", longer).Json()["usage"]["completion_tokens"], 5);
}

TEST(GenerationConfigTest, VllmSettingIgnoresTheModelsDefaults) {
  ServeOptions options;
  options.generation_config = "vllm";
  auto server = testing::StartApiServer(options);
  json r = PostJson(server->port(), "/v1/completions", {{"prompt", "x"}, {"ignore_eos", true}}).Json();
  EXPECT_EQ(r["usage"]["completion_tokens"], 16);  // OpenAI's default max_tokens
}

TEST(GenerationConfigTest, MissingFileIsAnError) {
  ServeOptions options;
  options.generation_config = "/nonexistent/folder";
  EXPECT_FALSE(ApiServer::Create(testing::SharedEngine::Get(), options).ok());
}

}  // namespace
}  // namespace pagoda
