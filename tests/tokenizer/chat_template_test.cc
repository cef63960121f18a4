// Every chat template in ../shared/models/chat_templates, rendered by
// pagoda and by Debian's python3-jinja2 in Hugging Face's environment
// (tests/tokenizer/chat_template_reference.py), for the conversations in
// chat_template_cases.json: the output must be byte-identical, and a
// template that raises in Python must fail in pagoda too.

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "testutil/shared_data.h"
#include "tokenizer/chat_template.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using testing::HaveSharedModel;
using testing::SharedModelPath;

constexpr char kNow[] = "2025-01-02T03:04:05";

std::time_t FixedNow() {
  std::tm tm{};
  tm.tm_year = 2025 - 1900;
  tm.tm_mon = 0;
  tm.tm_mday = 2;
  tm.tm_hour = 3;
  tm.tm_min = 4;
  tm.tm_sec = 5;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string CasesPath() { return testing::SourceDir() + "/tests/tokenizer/chat_template_cases.json"; }

std::vector<std::string> TemplateFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(SharedModelPath("chat_templates"), ec)) {
    if (e.path().extension() == ".jinja") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Runs the Python reference once over every template and case.
const ordered_json* Reference() {
  static ordered_json* ref = [] () -> ordered_json* {
    if (testing::RunCommand("python3 -c 'import jinja2' 2>/dev/null", nullptr) != 0) return nullptr;
    const std::string dir = testing::MakeTempDir("chat_ref_");
    std::string cmd = "python3 " + testing::SourceDir() + "/tests/tokenizer/chat_template_reference.py --cases " +
                      CasesPath() + " --now " + kNow + " --out " + dir + "/ref.json";
    for (const std::string& f : TemplateFiles()) cmd += " '" + f + "'";
    std::string out;
    if (testing::RunCommand(cmd + " 2>&1", &out) != 0) {
      ADD_FAILURE() << "reference script failed: " << out;
      return nullptr;
    }
    auto* j = new ordered_json(ordered_json::parse(ReadAll(dir + "/ref.json")));
    return j;
  }();
  return ref;
}

std::string FirstDifference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  auto snippet = [&](const std::string& s) {
    const size_t from = i > 40 ? i - 40 : 0;
    return ordered_json(s.substr(from, 100)).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  };
  return "at byte " + std::to_string(i) + "\n  pagoda: " + snippet(a) + "\n  jinja2: " + snippet(b);
}

TEST(ChatTemplateTest, AllTemplatesRenderLikeJinja2) {
  if (!HaveSharedModel("chat_templates")) GTEST_SKIP() << "needs " << SharedModelPath("chat_templates");
  const ordered_json* ref = Reference();
  if (ref == nullptr) GTEST_SKIP() << "needs python3 with jinja2 (python3-jinja2)";
  const ordered_json cases = ordered_json::parse(ReadAll(CasesPath()));
  const std::time_t now = FixedNow();
  int templates = 0, matching = 0, renders = 0, raising = 0;
  std::string mismatched;
  for (const std::string& file : TemplateFiles()) {
    ++templates;
    const std::string base = fs::path(file).filename().string();
    StatusOr<ChatTemplate> tmpl = ChatTemplate::FromJinjaFile(file);
    bool all_ok = true;
    for (const ordered_json& c : cases) {
      const std::string key = base + "/" + c["name"].get<std::string>();
      const ordered_json& want = (*ref)[key];
      ++renders;
      StatusOr<std::string> got = Internal("not rendered");
      if (!tmpl.ok()) {
        got = tmpl.status();
      } else {
        ChatTemplateInputs in;
        in.messages = c["messages"];
        in.tools = c.value("tools", ordered_json());
        in.documents = c.value("documents", ordered_json());
        in.add_generation_prompt = c.value("add_generation_prompt", false);
        in.kwargs = c.value("kwargs", ordered_json::object());
        in.now = now;
        got = tmpl->Render(in);
      }
      if (!want["ok"].get<bool>()) {
        ++raising;
        if (got.ok()) {
          all_ok = false;
          ADD_FAILURE() << key << ": jinja2 raised (" << want["error"].get<std::string>()
                        << ") but pagoda rendered";
        }
        continue;
      }
      if (!got.ok()) {
        all_ok = false;
        ADD_FAILURE() << key << ": pagoda failed: " << got.status().ToString();
        continue;
      }
      const std::string expected = want["text"].get<std::string>();
      if (*got != expected) {
        all_ok = false;
        ADD_FAILURE() << key << ": output differs " << FirstDifference(*got, expected);
      }
    }
    if (all_ok) {
      ++matching;
    } else {
      mismatched += " " + base;
    }
  }
  std::cout << "chat templates matching jinja2: " << matching << " of " << templates << " (" << renders
            << " renders, " << raising << " of them raising in both)\n";
  if (!mismatched.empty()) std::cout << "mismatched:" << mismatched << "\n";
  EXPECT_EQ(matching, templates);
}

}  // namespace
}  // namespace pagoda
