#include "server/server_context.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace pagoda {

namespace {
StatusOr<nlohmann::json> ReadGenerationConfig(const std::string& setting, const nlohmann::json& model_config) {
  if (setting.empty() || setting == "auto") return model_config;
  if (setting == "vllm" || setting == "none") return nlohmann::json::object();
  std::string path = setting;
  if (path.size() < 5 || path.substr(path.size() - 5) != ".json") path += "/generation_config.json";
  std::ifstream in(path);
  if (!in) return NotFound("--generation-config: cannot read " + path);
  nlohmann::json parsed = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return InvalidArgument("--generation-config: " + path + " is not a JSON object");
  }
  return parsed;
}
}  // namespace

StatusOr<std::unique_ptr<ServerContext>> ServerContext::Create(EngineClient* engine, ServeOptions options) {
  if (options.served_model_names.empty()) {
    options.served_model_names.push_back(options.model_path.empty() ? "pagoda" : options.model_path);
  }
  std::unique_ptr<ServerContext> ctx(new ServerContext(engine, std::move(options)));
  ASSIGN_OR_RETURN(nlohmann::json gen,
                   ReadGenerationConfig(ctx->options_.generation_config, engine->generation_config()));
  ctx->chat_defaults_ = SamplingDefaultsFromGenerationConfig(gen);
  ctx->completion_defaults_ = ctx->chat_defaults_;
  if (!ctx->completion_defaults_.max_tokens) ctx->completion_defaults_.max_tokens = 16;
  ASSIGN_OR_RETURN(ctx->chat_, ChatPromptRenderer::Create(ctx->options_.chat_template, ctx->options_.model_path));
  auto format = ToolCallFormatFromName(ctx->options_.tool_call_parser, ctx->chat_->template_source());
  if (!format) {
    return InvalidArgument("--tool-call-parser must be hermes or llama3_json, got '" +
                           ctx->options_.tool_call_parser + "'");
  }
  ctx->tool_call_format_ = *format;
  ctx->created_ = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  ctx->id_salt_ = std::random_device{}();
  return ctx;
}

std::optional<ApiError> ServerContext::CheckModel(const std::string& model) const {
  if (model.empty()) return std::nullopt;
  for (const std::string& name : options_.served_model_names) {
    if (name == model) return std::nullopt;
  }
  ApiError error = ApiError::NotFound("The model `" + model + "` does not exist.", "model_not_found");
  error.param = "model";
  return error;
}

std::string ServerContext::RequestId(const HttpRequest& request) {
  std::string_view header = request.Header("x-request-id");
  if (!header.empty() && header.size() <= 256) return std::string(header);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08llx%012llx", static_cast<unsigned long long>(id_salt_ & 0xffffffffu),
                static_cast<unsigned long long>(next_request_.fetch_add(1)));
  return buf;
}

std::vector<int32_t> ServerContext::Tokenize(const std::string& text, bool add_special, bool parse_special) const {
  std::vector<int32_t> ids = tokenizer().Encode(text, add_special, parse_special);
  if (ids.empty() && tokenizer().bos_id() >= 0) ids.push_back(tokenizer().bos_id());
  return ids;
}

}  // namespace pagoda
