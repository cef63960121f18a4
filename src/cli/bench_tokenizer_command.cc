// `pagoda bench tokenizer`: single-threaded encode throughput (MB/s of
// UTF-8 input, and tokens/s) of every tokenizer it finds, on two corpora
// built from the shared test data and repeated to a fixed size:
//   mixed:   llama.cpp's vocab-test texts (many scripts, emoji, code,
//            whitespace runs) and the chat templates
//   english: English prose (the TinyStories sample texts)
// Each document is encoded separately, as prompts are, with special-token
// parsing on. Prints one table row per tokenizer and corpus, from the
// fastest of --repeat passes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;

struct BenchTokenizerArgs {
  std::string data = "../shared/models";
  std::vector<std::string> tokenizers;
  double mb = 4.0;
  int repeat = 3;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Repeats `docs` until they hold at least `bytes` bytes.
std::vector<std::string> Repeat(const std::vector<std::string>& docs, size_t bytes) {
  std::vector<std::string> out;
  size_t total = 0;
  while (total < bytes && !docs.empty()) {
    for (const std::string& d : docs) {
      out.push_back(d);
      total += d.size();
      if (total >= bytes) break;
    }
  }
  return out;
}

std::vector<std::string> MixedDocs(const fs::path& data) {
  std::vector<std::string> docs;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(data / "vocab-tests", ec)) {
    if (e.path().extension() == ".inp") files.push_back(e.path());
  }
  for (const auto& e : fs::directory_iterator(data / "chat_templates", ec)) {
    if (e.path().extension() == ".jinja") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  const std::string sep = "\n__ggml_vocab_test__\n";
  for (const fs::path& f : files) {
    const std::string text = ReadFile(f);
    if (f.extension() != ".inp") {
      docs.push_back(text);
      continue;
    }
    for (size_t pos = 0; pos < text.size();) {
      size_t end = text.find(sep, pos);
      if (end == std::string::npos) end = text.size();
      if (end > pos) docs.push_back(text.substr(pos, end - pos));
      pos = end + sep.size();
    }
  }
  return docs;
}

std::vector<std::string> EnglishDocs(const fs::path& data) {
  std::vector<std::string> docs;
  const std::string text = ReadFile(data / "stories260K" / "stories260K_runc_greedy_bos_n256.txt");
  // One document per paragraph-sized piece, as prompts would be.
  for (size_t pos = 0; pos < text.size(); pos += 2000) docs.push_back(text.substr(pos, 2000));
  return docs;
}

std::vector<std::string> FindTokenizers(const fs::path& data) {
  std::vector<std::string> out;
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(data / "tokenizers", ec)) {
    if (fs::exists(e.path() / "tokenizer.json", ec)) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& d : dirs) out.push_back(d.string());
  std::vector<fs::path> ggufs;
  for (const auto& e : fs::directory_iterator(data / "vocab-tests", ec)) {
    if (e.path().extension() == ".gguf") ggufs.push_back(e.path());
  }
  std::sort(ggufs.begin(), ggufs.end());
  for (const fs::path& g : ggufs) out.push_back(g.string());
  return out;
}

std::string ShortName(const std::string& path) {
  fs::path p(path);
  std::string name = p.filename().string();
  if (name == "tokenizer.json") name = p.parent_path().filename().string();
  if (name.starts_with("ggml-vocab-")) name = name.substr(11);
  if (name.ends_with(".gguf")) name = name.substr(0, name.size() - 5) + " (gguf)";
  return name;
}

}  // namespace

CommandRun AddBenchTokenizerCommand(CLI::App& app) {
  auto a = std::make_shared<BenchTokenizerArgs>();
  app.add_option("--data", a->data, "The shared test-data folder (corpora and tokenizers)");
  app.add_option("--tokenizer,-t", a->tokenizers, "Tokenizer to measure (repeatable; default: all found)");
  app.add_option("--mb", a->mb, "Corpus size in MB (each corpus is repeated up to it)");
  app.add_option("--repeat", a->repeat, "Passes over each corpus; the fastest is reported (shared machines are noisy)")
      ->check(CLI::PositiveNumber);
  return [a]() -> int {
    const fs::path data(a->data);
    const size_t bytes = static_cast<size_t>(a->mb * 1e6);
    std::vector<std::pair<std::string, std::vector<std::string>>> corpora = {
        {"mixed", Repeat(MixedDocs(data), bytes)}, {"english", Repeat(EnglishDocs(data), bytes)}};
    std::erase_if(corpora, [](const auto& c) { return c.second.empty(); });
    if (corpora.empty()) {
      std::fprintf(stderr, "pagoda bench tokenizer: no corpus texts under %s\n", a->data.c_str());
      return 1;
    }
    std::vector<std::string> paths = a->tokenizers.empty() ? FindTokenizers(data) : a->tokenizers;
    if (paths.empty()) {
      std::fprintf(stderr, "pagoda bench tokenizer: no tokenizers under %s\n", a->data.c_str());
      return 1;
    }
    std::printf("%-22s %-8s %8s %11s %8s %9s %12s\n", "tokenizer", "corpus", "MB", "tokens", "seconds", "MB/s",
                "tokens/s");
    for (const std::string& path : paths) {
      StatusOr<std::unique_ptr<Tokenizer>> tok = Tokenizer::FromPath(path);
      if (!tok.ok()) {
        std::printf("%-22s (skipped: %s)\n", ShortName(path).c_str(), tok.status().message().c_str());
        continue;
      }
      for (const auto& [corpus, docs] : corpora) {
        size_t in_bytes = 0, tokens = 0;
        for (size_t i = 0; i < std::min<size_t>(docs.size(), 50); ++i) (*tok)->Encode(docs[i], false, true);
        double s = 0;
        for (int pass = 0; pass < a->repeat; ++pass) {
          in_bytes = tokens = 0;
          const auto t0 = std::chrono::steady_clock::now();
          for (const std::string& d : docs) {
            tokens += (*tok)->Encode(d, false, true).size();
            in_bytes += d.size();
          }
          const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          s = pass == 0 ? t : std::min(s, t);
        }
        std::printf("%-22s %-8s %8.2f %11zu %8.3f %9.2f %12.0f\n", ShortName(path).c_str(), corpus.c_str(),
                    in_bytes / 1e6, tokens, s, in_bytes / 1e6 / s, tokens / s);
      }
    }
    return 0;
  };
}

}  // namespace pagoda
