// POST /tokenize and /detokenize, in vLLM's shapes:
//   {"prompt": "..."} or {"messages": [...]} -> {"count", "max_model_len", "tokens", "token_strs"}
//   {"tokens": [...]}                         -> {"prompt": "..."}
#include "server/handlers/handlers.h"

namespace pagoda {

void HandleTokenize(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange) {
  nlohmann::json body;
  if (!ReadJsonBody(*exchange, &body)) return;
  TokenizeRequest request;
  if (auto error = ParseTokenizeRequest(body, &request)) return RespondError(*exchange, *error);
  if (auto error = ctx.CheckModel(request.model)) return RespondError(*exchange, *error);
  std::vector<int32_t> ids;
  if (request.is_chat) {
    StatusOr<std::string> prompt = ctx.chat().Render(request.messages, request.add_generation_prompt,
                                                     request.continue_final_message, request.chat_template_kwargs);
    if (!prompt.ok()) return RespondError(*exchange, ApiErrorFromStatus(prompt.status(), "messages"));
    const bool templated = ctx.chat().places_special_tokens();
    ids = ctx.tokenizer().Encode(*prompt, request.add_special_tokens || !templated, /*parse_special=*/templated);
  } else {
    ids = ctx.tokenizer().Encode(request.prompt, request.add_special_tokens, /*parse_special=*/true);
  }
  nlohmann::json token_strs = nullptr;
  if (request.return_token_strs) {
    token_strs = nlohmann::json::array();
    for (int32_t id : ids) token_strs.push_back(ctx.tokenizer().IdToPiece(id));
  }
  RespondJson(*exchange, {{"count", ids.size()},
                          {"max_model_len", ctx.engine().max_model_len()},
                          {"tokens", ids},
                          {"token_strs", std::move(token_strs)}});
}

void HandleDetokenize(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange) {
  nlohmann::json body;
  if (!ReadJsonBody(*exchange, &body)) return;
  DetokenizeRequest request;
  if (auto error = ParseDetokenizeRequest(body, &request)) return RespondError(*exchange, *error);
  if (auto error = ctx.CheckModel(request.model)) return RespondError(*exchange, *error);
  const int32_t vocab = ctx.tokenizer().vocab_size();
  for (int32_t id : request.tokens) {
    if (id < 0 || id >= vocab) {
      return RespondError(*exchange, ApiError::BadRequest("token id " + std::to_string(id) +
                                                              " is outside the vocabulary (size " +
                                                              std::to_string(vocab) + ")",
                                                          "tokens"));
    }
  }
  RespondJson(*exchange, {{"prompt", ctx.tokenizer().Decode(request.tokens, /*skip_special=*/false)}});
}

}  // namespace pagoda
