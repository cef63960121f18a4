// Tokenizer::FromPath: picks the loader for what the user named.

#include <filesystem>
#include <fstream>

#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;

bool HasGgufMagic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string(magic, 4) == "GGUF";
}

StatusOr<std::unique_ptr<Tokenizer>> FromGgufPath(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<GgufFile> gguf, GgufFile::Open(path));
  return Tokenizer::FromGguf(*gguf);
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromPath(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(fs::path(path) / "tokenizer.json", ec)) return FromHf(path);
    std::vector<std::string> ggufs;
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.path().extension() == ".gguf") ggufs.push_back(e.path().string());
    }
    if (ggufs.size() == 1) return FromGgufPath(ggufs[0]);
    if (fs::exists(fs::path(path) / "tokenizer.model", ec)) {
      return Unimplemented(path + ": only tokenizer.model (SentencePiece protobuf) found; "
                           "pagoda reads tokenizer.json or GGUF vocabularies");
    }
    return NotFound(path + ": no tokenizer.json" +
                    std::string(ggufs.empty() ? " or .gguf file" : " and several .gguf files"));
  }
  if (!fs::exists(path, ec)) return NotFound("no such file or folder: " + path);
  if (HasGgufMagic(path)) return FromGgufPath(path);
  return FromHf(path);
}

}  // namespace pagoda
