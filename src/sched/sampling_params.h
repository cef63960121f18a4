// SamplingParams: how one request's tokens are chosen and when it stops, with
// vLLM's field names and defaults. Pure data: the engine fills the defaults it
// owns (max_tokens, eos_token_ids) and validates once; the scheduler reads the
// stop fields, the sampler the rest. A plain value, thread-compatible.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pagoda {

class CompiledGrammar;  // guided/compiled_grammar.h; only the engine looks inside

// A structured-output constraint as the API gives it (response_format,
// structured_outputs, guided_*); the engine compiles it to a grammar.
struct StructuredOutputSpec {
  enum class Kind : uint8_t { kJsonSchema, kJsonObject, kRegex, kChoice, kGrammar };
  Kind kind = Kind::kJsonObject;
  std::string text{};                // the schema, regex or GBNF text
  std::vector<std::string> choices{};  // kChoice
  bool strict = true;                // JSON: undeclared properties only where allowed
  bool any_whitespace = false;       // JSON: any whitespace between tokens
};

struct SamplingParams {
  // Number of output sequences to return (parallel sampling); the engine fans
  // n > 1 out into n requests, so the scheduler always sees n == 1.
  int n = 1;
  std::optional<int> best_of;

  float temperature = 1.0f;  // 0 = greedy
  float top_p = 1.0f;        // 1 = off
  int top_k = 0;             // 0 or -1 = off
  float min_p = 0.0f;        // 0 = off
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  float repetition_penalty = 1.0f;  // 1 = off
  // Seeds the request's own generator (batch invariance: never a global RNG).
  std::optional<uint64_t> seed;

  // Stop strings are matched on detokenized text by the OutputProcessor; stop
  // token ids and EOS are matched on token ids by the scheduler.
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool include_stop_str_in_output = false;
  bool ignore_eos = false;
  // Unset means "until max_model_len"; the engine normally fills a default.
  std::optional<int> max_tokens;
  // Neither EOS nor stop_token_ids end the request before this many outputs.
  int min_tokens = 0;

  std::vector<std::pair<int32_t, float>> logit_bias;  // token id -> added logit
  std::vector<std::string> bad_words;
  // bad_words as token sequences, filled by the engine from its tokenizer
  // (vLLM's rule: each word alone and after a space). The last token of a
  // sequence is banned when the output so far ends with the others.
  std::vector<std::vector<int32_t>> bad_words_token_ids;
  std::optional<int> logprobs;         // top-k logprobs per sampled token
  std::optional<int> prompt_logprobs;  // top-k logprobs per prompt token
  bool skip_special_tokens = true;
  bool spaces_between_special_tokens = true;

  // Filled by the engine from the model (generation_config / tokenizer); any
  // of these ends the request unless ignore_eos.
  std::vector<int32_t> eos_token_ids;

  // Constrains the output (tokens outside the grammar are never sampled).
  std::optional<StructuredOutputSpec> structured_output;
  // Filled by the engine's validation from structured_output (compiled off
  // the engine thread; shared by n > 1 children, each gets its own matcher).
  std::shared_ptr<const CompiledGrammar> compiled_grammar;
};

}  // namespace pagoda
