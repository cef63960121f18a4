#include "formats/safetensors.h"

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using ::pagoda::testing::MakeTempDir;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed * 31 + i * 13);
  return b;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Raw file: 8-byte length, the header text as given, then `data_bytes` bytes.
std::string RawFile(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out += header;
  out.append(data_bytes, '\x11');
  return out;
}

TEST(SafetensorsTest, RoundTrip) {
  SafetensorsWriter w;
  const std::vector<uint8_t> a = Pattern(2 * 3 * 4, 1);
  const std::vector<uint8_t> b = Pattern(5 * 2, 2);
  const std::vector<uint8_t> c = Pattern(7 * 2, 3);
  const std::vector<uint8_t> d = Pattern(8, 4);
  const std::vector<uint8_t> e = Pattern(3, 5);
  const std::vector<uint8_t> g = Pattern(4 * 2, 6);
  const std::vector<uint8_t> h = Pattern(2 * 2 * 4, 7);
  const std::vector<uint8_t> i = Pattern(8 * 2, 8);
  w.Add("model.layers.0.self_attn.q_proj.weight", DType::kF32, {2, 3}, a);
  w.Add("b.f16", DType::kF16, {5}, b);
  w.Add("c.bf16", DType::kBF16, {7, 1}, c);
  w.Add("d.f64", DType::kF64, {}, d);  // a scalar
  w.Add("e.i8", DType::kI8, {3}, e);
  w.Add("g.i16", DType::kI16, {4}, g);
  w.Add("h.i32", DType::kI32, {2, 2}, h);
  w.Add("i.i64", DType::kI64, {2}, i);
  w.Add("empty", DType::kF32, {0, 4}, {});
  w.SetMetadata("format", "pt");
  w.SetMetadata("note", "h\xc3\xa9llo");
  const std::string path = MakeTempDir("st_rt") + "/model.safetensors";
  ASSERT_TRUE(w.WriteTo(path).ok());

  // Hugging Face's layout: header length a multiple of 8, space padded.
  const std::string raw = ReadAll(path);
  uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(raw[8], '{');
  EXPECT_TRUE(raw[8 + n - 1] == '}' || raw[8 + n - 1] == ' ');

  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const SafetensorsFile& s = **f;
  EXPECT_EQ(s.metadata().at("format"), "pt");
  EXPECT_EQ(s.metadata().at("note"), "h\xc3\xa9llo");
  ASSERT_EQ(s.tensors().size(), 9u);
  // Tensors come back in file (= insertion) order, not JSON key order.
  EXPECT_EQ(s.tensors()[0].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(s.tensors()[1].name, "b.f16");
  struct Want {
    const char* name;
    DType dtype;
    std::vector<uint64_t> shape;
    const std::vector<uint8_t>* data;
  };
  const std::vector<uint8_t> none;
  const std::vector<Want> wants = {
      {"model.layers.0.self_attn.q_proj.weight", DType::kF32, {2, 3}, &a},
      {"b.f16", DType::kF16, {5}, &b},
      {"c.bf16", DType::kBF16, {7, 1}, &c},
      {"d.f64", DType::kF64, {}, &d},
      {"e.i8", DType::kI8, {3}, &e},
      {"g.i16", DType::kI16, {4}, &g},
      {"h.i32", DType::kI32, {2, 2}, &h},
      {"i.i64", DType::kI64, {2}, &i},
      {"empty", DType::kF32, {0, 4}, &none},
  };
  for (const Want& want : wants) {
    const SafetensorInfo* t = s.Find(want.name);
    ASSERT_NE(t, nullptr) << want.name;
    EXPECT_EQ(t->dtype, want.dtype) << want.name;
    EXPECT_EQ(t->shape, want.shape) << want.name;
    ASSERT_EQ(t->nbytes, want.data->size()) << want.name;
    if (t->nbytes > 0) {
      EXPECT_EQ(std::memcmp(t->data, want.data->data(), t->nbytes), 0) << want.name;
    }
  }
  EXPECT_EQ(s.Find("d.f64")->num_elements(), 1u);
  EXPECT_EQ(s.Find("h.i32")->num_elements(), 4u);
  EXPECT_EQ(s.Find("empty")->num_elements(), 0u);
  EXPECT_EQ(s.Find("missing"), nullptr);
}

TEST(SafetensorsTest, WriterRejectsBadInput) {
  const std::string dir = MakeTempDir("st_bad");
  {
    SafetensorsWriter w;
    w.Add("x", DType::kF32, {3}, std::vector<uint8_t>(11));
    Status s = w.WriteTo(dir + "/a.safetensors");
    EXPECT_NE(s.message().find("'x'"), std::string::npos) << s.message();
  }
  {
    SafetensorsWriter w;
    w.Add("q", DType::kQ8_0, {32}, std::vector<uint8_t>(34));
    EXPECT_FALSE(w.WriteTo(dir + "/b.safetensors").ok());
  }
  {
    SafetensorsWriter w;
    w.Add("x", DType::kF32, {1}, std::vector<uint8_t>(4));
    w.Add("x", DType::kF32, {1}, std::vector<uint8_t>(4));
    EXPECT_FALSE(w.WriteTo(dir + "/c.safetensors").ok());
  }
}

void ExpectOpenError(const std::string& bytes, const std::string& needle) {
  const std::string path = MakeTempDir("st_err") + "/m.safetensors";
  WriteText(path, bytes);
  auto f = SafetensorsFile::Open(path);
  ASSERT_FALSE(f.ok()) << "expected: " << needle;
  EXPECT_EQ(f.status().message().rfind(path + ": ", 0), 0u) << f.status().message();
  EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().message();
}

TEST(SafetensorsTest, RejectsMalformedFiles) {
  ExpectOpenError("abc", "truncated");
  ExpectOpenError(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}", "past the end");
  ExpectOpenError(RawFile("{not json", 0), "not valid JSON");
  ExpectOpenError(RawFile("[1, 2]", 0), "not a JSON object");
  ExpectOpenError(RawFile(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 2),
                  "tensor 'w' has dtype 'U8'");
  ExpectOpenError(RawFile(R"({"w":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", 2),
                  "tensor 'w' has dtype 'BOOL'");
  ExpectOpenError(RawFile(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 7),
                  "tensor 'w' extends past the end of the file");
  ExpectOpenError(RawFile(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                  "shape needs 12");
  ExpectOpenError(RawFile(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8),
                  "end before they begin");
  ExpectOpenError(
      RawFile(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
      "overflows");
  ExpectOpenError(
      RawFile(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8),
      "overflows");
  ExpectOpenError(RawFile(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                  "non-negative");
  ExpectOpenError(RawFile(R"({"w":{"dtype":"F32","shape":[2]}})", 8), "data_offsets");
  ExpectOpenError(RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                          8),
                  "overlaps");
  ExpectOpenError(RawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                          8),
                  "duplicate entry 'a'");
  ExpectOpenError(RawFile(R"({"__metadata__":{"k":1}})", 0), "__metadata__");
  ExpectOpenError(RawFile(std::string(100, '[') + std::string(100, ']'), 0), "nests deeper");
}

TEST(SafetensorsTest, AcceptsHandWrittenHeader) {
  // Unpadded header, extra fields, tensors listed out of data order.
  const std::string path = MakeTempDir("st_hand") + "/m.safetensors";
  WriteText(path, RawFile(R"({"z":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},)"
                          R"("a":{"dtype":"BF16","shape":[2],"data_offsets":[4,8],"extra":1}})",
                          8));
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ((*f)->tensors().size(), 2u);
  EXPECT_EQ((*f)->tensors()[0].name, "z");
  EXPECT_EQ((*f)->tensors()[1].name, "a");
  EXPECT_TRUE((*f)->metadata().empty());
}

void WriteShard(const std::string& path, const std::vector<std::string>& names, uint8_t seed) {
  SafetensorsWriter w;
  for (size_t i = 0; i < names.size(); ++i) {
    w.Add(names[i], DType::kF32, {2, 2}, Pattern(16, static_cast<uint8_t>(seed + i)));
  }
  ASSERT_TRUE(w.WriteTo(path).ok());
}

TEST(HfCheckpointTest, SingleFile) {
  const std::string dir = MakeTempDir("hf_single");
  WriteText(dir + "/config.json", R"({"model_type": "llama", "hidden_size": 4})");
  WriteShard(dir + "/model.safetensors", {"model.embed_tokens.weight", "lm_head.weight"}, 1);
  auto ck = HfCheckpoint::Open(dir);
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  EXPECT_EQ((*ck)->dir(), dir);
  EXPECT_EQ((*ck)->config()["model_type"], "llama");
  EXPECT_TRUE((*ck)->generation_config().is_object());
  EXPECT_TRUE((*ck)->generation_config().empty());
  EXPECT_EQ((*ck)->tensors().size(), 2u);
  const SafetensorInfo* t = (*ck)->Find("lm_head.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(std::memcmp(t->data, Pattern(16, 2).data(), 16), 0);
  EXPECT_EQ((*ck)->Find("nope"), nullptr);
}

TEST(HfCheckpointTest, ShardedWithIndex) {
  const std::string dir = MakeTempDir("hf_shards");
  WriteText(dir + "/config.json", R"({"model_type": "qwen2"})");
  WriteText(dir + "/generation_config.json", R"({"temperature": 0.7, "eos_token_id": [1, 2]})");
  WriteShard(dir + "/model-00001-of-00002.safetensors", {"a", "b"}, 10);
  WriteShard(dir + "/model-00002-of-00002.safetensors", {"c"}, 20);
  WriteText(dir + "/model.safetensors.index.json", R"({
    "metadata": {"total_size": 48},
    "weight_map": {"a": "model-00001-of-00002.safetensors",
                   "b": "model-00001-of-00002.safetensors",
                   "c": "model-00002-of-00002.safetensors"}})");
  auto ck = HfCheckpoint::Open(dir + "/");
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  EXPECT_EQ((*ck)->generation_config()["temperature"], 0.7);
  ASSERT_EQ((*ck)->tensors().size(), 3u);
  EXPECT_EQ(std::memcmp((*ck)->Find("c")->data, Pattern(16, 20).data(), 16), 0);
  EXPECT_EQ(std::memcmp((*ck)->Find("b")->data, Pattern(16, 11).data(), 16), 0);
}

TEST(HfCheckpointTest, Errors) {
  {
    const std::string dir = MakeTempDir("hf_noconfig");
    WriteShard(dir + "/model.safetensors", {"a"}, 1);
    auto ck = HfCheckpoint::Open(dir);
    ASSERT_FALSE(ck.ok());
    EXPECT_NE(ck.status().message().find(dir + "/config.json"), std::string::npos)
        << ck.status().message();
  }
  {
    const std::string dir = MakeTempDir("hf_noweights");
    WriteText(dir + "/config.json", "{}");
    auto ck = HfCheckpoint::Open(dir);
    ASSERT_FALSE(ck.ok());
    EXPECT_NE(ck.status().message().find("model.safetensors"), std::string::npos);
  }
  {
    const std::string dir = MakeTempDir("hf_badconfig");
    WriteText(dir + "/config.json", "{oops");
    WriteShard(dir + "/model.safetensors", {"a"}, 1);
    auto ck = HfCheckpoint::Open(dir);
    ASSERT_FALSE(ck.ok());
    EXPECT_NE(ck.status().message().find("config.json"), std::string::npos);
  }
  for (const std::string shard : {"../escape.safetensors", "/etc/passwd", "a/../../x",
                                  "sub/../../b.safetensors"}) {
    const std::string dir = MakeTempDir("hf_escape");
    WriteText(dir + "/config.json", "{}");
    WriteText(dir + "/model.safetensors.index.json",
              R"({"weight_map": {"a": ")" + shard + R"("}})");
    auto ck = HfCheckpoint::Open(dir);
    ASSERT_FALSE(ck.ok()) << shard;
    EXPECT_NE(ck.status().message().find("not a relative path"), std::string::npos)
        << ck.status().message();
  }
  {
    const std::string dir = MakeTempDir("hf_dup");
    WriteText(dir + "/config.json", "{}");
    WriteShard(dir + "/s1.safetensors", {"a", "b"}, 1);
    WriteShard(dir + "/s2.safetensors", {"b"}, 2);
    WriteText(dir + "/model.safetensors.index.json",
              R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
    auto ck = HfCheckpoint::Open(dir);
    ASSERT_FALSE(ck.ok());
    EXPECT_NE(ck.status().message().find("tensor 'b'"), std::string::npos)
        << ck.status().message();
  }
  {
    const std::string dir = MakeTempDir("hf_missing_shard");
    WriteText(dir + "/config.json", "{}");
    WriteText(dir + "/model.safetensors.index.json", R"({"weight_map": {"a": "gone.safetensors"}})");
    auto ck = HfCheckpoint::Open(dir);
    ASSERT_FALSE(ck.ok());
    EXPECT_NE(ck.status().message().find("gone.safetensors"), std::string::npos)
        << ck.status().message();
  }
  {
    const std::string dir = MakeTempDir("hf_wrong_shard");
    WriteText(dir + "/config.json", "{}");
    WriteShard(dir + "/s1.safetensors", {"a"}, 1);
    WriteText(dir + "/model.safetensors.index.json",
              R"({"weight_map": {"a": "s1.safetensors", "zz": "s1.safetensors"}})");
    auto ck = HfCheckpoint::Open(dir);
    ASSERT_FALSE(ck.ok());
    EXPECT_NE(ck.status().message().find("'zz'"), std::string::npos) << ck.status().message();
  }
}

}  // namespace
}  // namespace pagoda
