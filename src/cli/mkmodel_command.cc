// `pagoda mkmodel`: writes a random-weight model of a chosen architecture,
// shape and weight type, as GGUF or as a Hugging Face folder.
#include <cstdio>
#include <map>
#include <string>

#include "cli/commands.h"
#include "model/random_model.h"

namespace pagoda {

namespace {
struct MkmodelArgs {
  std::string arch = "llama";
  std::string dtype = "f32";
  std::string output_dtype = "same";
  std::string format = "gguf";
  std::string out;
  RandomModelSpec spec;
  std::string rope_scaling = "none";
};
}  // namespace

CommandRun AddMkmodelCommand(CLI::App& app) {
  auto a = std::make_shared<MkmodelArgs>();
  RandomModelSpec& s = a->spec;
  app.add_option("--arch", a->arch, "llama, qwen2 or qwen3")
      ->check(CLI::IsMember({"llama", "qwen2", "qwen3"}));
  app.add_option("--dtype", a->dtype, "f32, f16, bf16, q8_0 or q4_0")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0"}));
  app.add_option("--output-dtype", a->output_dtype,
                 "Type of the untied output matrix (GGUF): same (as --dtype), f32, f16, bf16, q8_0, q4_0 or "
                 "q6_k (what llama.cpp's Q4_0 files use)")
      ->check(CLI::IsMember({"same", "f32", "f16", "bf16", "q8_0", "q4_0", "q6_k"}));
  app.add_option("--format", a->format, "gguf or hf")->check(CLI::IsMember({"gguf", "hf"}));
  app.add_option("--out,-o", a->out, "Output GGUF file or folder")->required();
  app.add_option("--vocab-size", s.vocab_size);
  app.add_option("--hidden-size", s.hidden_size);
  app.add_option("--intermediate-size", s.intermediate_size);
  app.add_option("--num-layers", s.num_layers);
  app.add_option("--num-heads", s.num_heads);
  app.add_option("--num-kv-heads", s.num_kv_heads);
  app.add_option("--head-dim", s.head_dim, "0: hidden / heads");
  app.add_flag("--tie-word-embeddings", s.tie_word_embeddings);
  app.add_option("--rope-theta", s.rope_theta);
  app.add_option("--rope-scaling", a->rope_scaling, "none, linear or llama3")
      ->check(CLI::IsMember({"none", "linear", "llama3"}));
  app.add_option("--rope-factor", s.rope_scaling.factor);
  app.add_option("--rope-low-freq-factor", s.rope_scaling.low_freq_factor);
  app.add_option("--rope-high-freq-factor", s.rope_scaling.high_freq_factor);
  app.add_option("--rope-original-max-position", s.rope_scaling.original_max_position_embeddings);
  app.add_option("--rms-norm-eps", s.rms_norm_eps);
  app.add_option("--max-position-embeddings", s.max_position_embeddings);
  app.add_option("--seed", s.seed);
  return [a]() -> int {
    RandomModelSpec spec = a->spec;
    spec.arch = a->arch == "qwen2" ? Architecture::kQwen2
                : a->arch == "qwen3" ? Architecture::kQwen3 : Architecture::kLlama;
    spec.dtype = DTypeFromName(a->dtype).value();
    if (a->output_dtype != "same") spec.output_dtype = DTypeFromName(a->output_dtype).value();
    if (a->rope_scaling == "linear") spec.rope_scaling.type = RopeScaling::Type::kLinear;
    if (a->rope_scaling == "llama3") spec.rope_scaling.type = RopeScaling::Type::kLlama3;
    Status st = a->format == "hf" ? WriteRandomHf(spec, a->out) : WriteRandomGguf(spec, a->out);
    if (!st.ok()) {
      std::fprintf(stderr, "pagoda: %s\n", st.message().c_str());
      return 1;
    }
    return 0;
  };
}

}  // namespace pagoda
