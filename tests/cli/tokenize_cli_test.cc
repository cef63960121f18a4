// `pagoda tokenize`, `pagoda chat-template` and `pagoda bench tokenizer`
// end to end: exact stdout contracts, exit codes, and one-line errors.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using testing::HaveSharedModel;
using testing::MakeTempDir;
using testing::PagodaBinary;
using testing::RunCommand;
using testing::SharedModelPath;

struct Result {
  int code;
  std::string out, err;
};

const std::string& TempDir() {
  static const std::string dir = MakeTempDir("pagoda-tok-cli-");
  return dir;
}

// `stdin_text` (if any) is piped in from a file.
Result RunPagoda(const std::string& args, const std::string& stdin_text = "") {
  static int n = 0;
  const std::string err_file = TempDir() + "/err" + std::to_string(n);
  std::string cmd = PagodaBinary() + " " + args + " 2>" + err_file;
  if (!stdin_text.empty()) {
    const std::string in_file = TempDir() + "/in" + std::to_string(n);
    std::ofstream(in_file, std::ios::binary) << stdin_text;
    cmd += " <" + in_file;
  } else {
    cmd += " </dev/null";
  }
  ++n;
  Result r;
  r.code = RunCommand(cmd, &r.out);
  std::ifstream f(err_file);
  std::stringstream ss;
  ss << f.rdbuf();
  r.err = ss.str();
  return r;
}

std::string WriteTemp(const std::string& name, const std::string& data) {
  const std::string path = TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

#define REQUIRE_SHARED(rel) \
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel)

TEST(TokenizeCliTest, IdsAndPieces) {
  REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
  const std::string llama3 = SharedModelPath("tokenizers/llama3");
  Result r = RunPagoda("tokenize --model " + llama3 + " --ids 'Hello world'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "9906 1917\n");
  // This tokenizer.json's post-processor adds no BOS (Hugging Face adds none either).
  r = RunPagoda("tokenize --model " + llama3 + " --ids --add-special-tokens 'Hello world'");
  EXPECT_EQ(r.out, "9906 1917\n");
  r = RunPagoda("tokenize --model " + llama3 + "/tokenizer.json 'Hello world<|eot_id|>'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "9906\t\"Hello\"\n1917\t\"Ġworld\"\n128009\t\"<|eot_id|>\"\n");
  r = RunPagoda("tokenize --model " + llama3 + " --ids --no-parse-special '<|eot_id|>'");
  EXPECT_NE(r.out, "128009\n");
  // The text exactly as given, from stdin: leading space, newline, no BOS.
  r = RunPagoda("tokenize --model " + llama3 + " --ids", " a\nb");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "264 198 65\n");
  r = RunPagoda("tokenize --model " + llama3 + " --ids ''");
  EXPECT_EQ(r.out, "\n");
}

TEST(TokenizeCliTest, GgufFileAndFolder) {
  REQUIRE_SHARED("vocab-tests/ggml-vocab-llama-spm.gguf");
  Result r = RunPagoda("tokenize --model " + SharedModelPath("vocab-tests/ggml-vocab-llama-spm.gguf") +
                 " --ids 'Hello world'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "15043 3186\n");
  r = RunPagoda("tokenize --model " + SharedModelPath("stories260K") + " --ids --add-special-tokens 'Once upon a time'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1 403 407 261 378\n");
}

TEST(TokenizeCliTest, BadModelIsAOneLineError) {
  Result r = RunPagoda("tokenize --model /nonexistent/model --ids hi");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("/nonexistent/model"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

TEST(ChatTemplateCliTest, ModelFolderRendersExactly) {
  REQUIRE_SHARED("tokenizers/qwen3/tokenizer_config.json");
  const std::string msgs = WriteTemp("msgs.json", R"([{"role": "system", "content": "Be brief."},
                                                      {"role": "user", "content": "Hi"}])");
  const std::string qwen3 = SharedModelPath("tokenizers/qwen3");
  Result r = RunPagoda("chat-template --model " + qwen3 + " --messages " + msgs);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
  r = RunPagoda("chat-template --model " + qwen3 + " --messages " + msgs +
          " --add-generation-prompt --kwargs '{\"enable_thinking\": false}'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n\n");
  const std::string tools = WriteTemp("tools.json", R"([{"type": "function", "function": {"name": "f",
      "description": "Does f.", "parameters": {"type": "object", "properties": {}}}}])");
  r = RunPagoda("chat-template --model " + qwen3 + " --messages " + msgs + " --tools " + tools);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"f\""), std::string::npos)
      << r.out;
  // The same conversation as one JSON object on stdin.
  r = RunPagoda("chat-template --model " + qwen3 + " --messages -",
          R"({"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": true,
              "enable_thinking": false})");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(ChatTemplateCliTest, TemplateFileWithoutModel) {
  const std::string tmpl = WriteTemp("t.jinja",
                                     "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}"
                                     "{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}\n");
  const std::string msgs = WriteTemp("m2.json", R"([{"role": "user", "content": "Hi"}])");
  Result r = RunPagoda("chat-template --chat-template " + tmpl + " --messages " + msgs +
                 " --bos-token '<s>' --eos-token '</s>' --add-generation-prompt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "<s>[user]Hi</s>[assistant]");  // Jinja drops one trailing newline
}

TEST(ChatTemplateCliTest, RaisingAndBrokenTemplatesExitWith3) {
  const std::string msgs = WriteTemp("m3.json", R"([{"role": "assistant", "content": "first"}])");
  const std::string raising = WriteTemp("raise.jinja",
                                        "{% if messages[0].role != 'user' %}\n"
                                        "{{ raise_exception('Conversation must start with a user message') }}\n"
                                        "{% endif %}");
  Result r = RunPagoda("chat-template --chat-template " + raising + " --messages " + msgs);
  EXPECT_EQ(r.code, 3);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("Conversation must start with a user message"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("raise.jinja:2"), std::string::npos) << r.err;
  const std::string broken = WriteTemp("broken.jinja", "ok\n{% for m in %}{% endfor %}");
  r = RunPagoda("chat-template --chat-template " + broken + " --messages " + msgs);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("broken.jinja:2"), std::string::npos) << r.err;
  r = RunPagoda("chat-template --chat-template " + raising + " --messages /nonexistent.json");
  EXPECT_EQ(r.code, 1);
  r = RunPagoda("chat-template --messages " + msgs);
  EXPECT_EQ(r.code, 1);
}

TEST(ChatTemplateCliTest, GgufMetadataTemplate) {
  REQUIRE_SHARED("vocab-tests/ggml-vocab-phi-3.gguf");
  const std::string msgs = WriteTemp("m4.json", R"([{"role": "user", "content": "Hi"}])");
  Result r = RunPagoda("chat-template --model " + SharedModelPath("vocab-tests/ggml-vocab-phi-3.gguf") +
                 " --messages " + msgs + " --add-generation-prompt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "<s><|user|>\nHi<|end|>\n<|assistant|>\n");
}

TEST(BenchTokenizerCliTest, PrintsATable) {
  REQUIRE_SHARED("tokenizers/gpt2/tokenizer.json");
  Result r = RunPagoda("bench tokenizer --data " + SharedModelPath("") + " --mb 0.05 -t " +
                 SharedModelPath("tokenizers/gpt2"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("MB/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gpt2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("english"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pagoda
