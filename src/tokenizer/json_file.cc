#include "tokenizer/json_file.h"

#include <fstream>
#include <sstream>

namespace pagoda {
namespace {

template <typename J>
StatusOr<J> Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  try {
    return J::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the 1-based offset of the byte that failed.
    const size_t at = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    // Keep nlohmann's explanation, without its own "[json.exception...] at
    // line L, column C" prefix.
    std::string what = e.what();
    if (const size_t col = what.find(", column "); col != std::string::npos) {
      if (const size_t colon = what.find(": ", col); colon != std::string::npos) what = what.substr(colon + 2);
    }
    return InvalidArgument(path + ":" + std::to_string(line) + ":" + std::to_string(column) +
                           ": invalid JSON: " + what);
  }
}

}  // namespace

StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) { return Read<nlohmann::json>(path); }
StatusOr<nlohmann::ordered_json> ReadOrderedJsonFile(const std::string& path) {
  return Read<nlohmann::ordered_json>(path);
}

}  // namespace pagoda
