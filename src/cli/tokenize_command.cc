// `pagoda tokenize`: shows how a model's tokenizer splits a text, for
// people debugging prompts. The text is taken exactly as given (argument,
// or stdin when absent); special-token text such as <|im_start|> is
// recognised as Hugging Face does unless --no-parse-special; BOS/EOS are
// added only with --add-special-tokens.
//   default: one line per token, "id<TAB>piece" (the piece as a JSON string)
//   --ids:   the ids only, space-separated on one line
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  bool ids_only = false;
  bool add_special = false;
  bool no_parse_special = false;
};

}  // namespace

CommandRun AddTokenizeCommand(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  app.add_option("--model,-m", a->model, "GGUF file, tokenizer.json, or model/tokenizer folder")->required();
  app.add_option("text", a->text, "Text to tokenize (default: read stdin)");
  app.add_flag("--ids", a->ids_only, "Print only the ids, space-separated on one line");
  app.add_flag("--add-special-tokens", a->add_special, "Add BOS/EOS as the tokenizer's settings ask");
  app.add_flag("--no-parse-special", a->no_parse_special, "Treat special-token text as plain text");
  return [a, &app]() -> int {
    std::string text = a->text;
    if (app.count("text") == 0) {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    StatusOr<std::unique_ptr<Tokenizer>> tok = Tokenizer::FromPath(a->model);
    if (!tok.ok()) {
      std::fprintf(stderr, "pagoda tokenize: %s\n", tok.status().message().c_str());
      return 1;
    }
    const std::vector<int32_t> ids = (*tok)->Encode(text, a->add_special, !a->no_parse_special);
    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (a->ids_only) {
        out += (i > 0 ? " " : "") + std::to_string(ids[i]);
      } else {
        out += std::to_string(ids[i]) + "\t" +
               nlohmann::json((*tok)->IdToPiece(ids[i])).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
               "\n";
      }
    }
    if (a->ids_only) out += "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  };
}

}  // namespace pagoda
