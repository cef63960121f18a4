// Chat prompts rendered with a chat template given as --chat-template (the
// Jinja renderer of tokenizer/), seen through /tokenize and
// /v1/chat/completions: role markers, generation prompt, continuation of
// the final message, and a template's raise_exception as a 400.
#include "server/server_fixture.h"

namespace pagoda {
namespace {

using nlohmann::json;
using testing::PostJson;

constexpr const char* kTemplate =
    "{% for m in messages %}"
    "{% if m.role == 'system' and not loop.first %}{{ raise_exception('system message must be first') }}{% endif %}"
    "[{{ m.role }}]{{ m.content }}[end]"
    "{% endfor %}"
    "{% if add_generation_prompt %}[assistant]{% endif %}";

class ChatTemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServeOptions options;
    options.chat_template = kTemplate;
    server_ = testing::StartApiServer(options);
  }
  // The prompt text the server builds for `body`, through /tokenize.
  std::string Rendered(json body) {
    auto tok = PostJson(server_->port(), "/tokenize", body);
    EXPECT_EQ(tok.status, 200) << tok.body;
    auto detok = PostJson(server_->port(), "/detokenize", {{"tokens", tok.Json()["tokens"]}});
    return detok.Json()["prompt"];
  }
  std::unique_ptr<ApiServer> server_;
};

TEST_F(ChatTemplateTest, RendersRolesAndGenerationPrompt) {
  json messages = {{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", "hi"}}};
  EXPECT_EQ(Rendered({{"messages", messages}}), "[system]be brief[end][user]hi[end][assistant]");
  EXPECT_EQ(Rendered({{"messages", messages}, {"add_generation_prompt", false}}),
            "[system]be brief[end][user]hi[end]");
}

TEST_F(ChatTemplateTest, ContinuesTheFinalMessage) {
  json messages = {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", "Once"}}};
  EXPECT_EQ(Rendered({{"messages", messages}, {"continue_final_message", true}, {"add_generation_prompt", false}}),
            "[user]hi[end][assistant]Once");
}

TEST_F(ChatTemplateTest, ChatCompletionUsesTheTemplate) {
  json messages = {{{"role", "user"}, {"content", "hi"}}};
  auto tok = PostJson(server_->port(), "/tokenize", {{"messages", messages}}).Json();
  auto r = PostJson(server_->port(), "/v1/chat/completions",
                    {{"messages", messages}, {"max_tokens", 2}, {"temperature", 0}, {"ignore_eos", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["usage"]["prompt_tokens"], tok["count"]);
}

TEST_F(ChatTemplateTest, RaiseExceptionIsABadRequest) {
  json messages = {{{"role", "user"}, {"content", "hi"}}, {{"role", "system"}, {"content", "late"}}};
  auto r = PostJson(server_->port(), "/v1/chat/completions", {{"messages", messages}, {"max_tokens", 2}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find("system message must be first"), std::string::npos);
}

TEST(ChatTemplateOptionTest, UnparsableTemplateIsRefusedAtStart) {
  ServeOptions options;
  options.chat_template = "{% for m in messages %}";
  auto server = ApiServer::Create(testing::SharedEngine::Get(), options);
  EXPECT_FALSE(server.ok());
}

}  // namespace
}  // namespace pagoda
