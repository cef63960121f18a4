#include "formats/gguf.h"

#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using ::pagoda::testing::HaveSharedModel;
using ::pagoda::testing::MakeTempDir;
using ::pagoda::testing::SharedModelPath;

constexpr char kStories[] = "stories260K/stories260K.gguf";

TEST(GgufTest, ReadsStories260K) {
  if (!HaveSharedModel(kStories)) GTEST_SKIP() << "needs " << SharedModelPath(kStories);
  auto f = GgufFile::Open(SharedModelPath(kStories));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  EXPECT_GE(g.version(), 2u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.GetString("general.architecture"), "llama");
  EXPECT_EQ(g.GetUint("llama.embedding_length"), 64u);
  EXPECT_EQ(g.GetInt("llama.embedding_length"), 64);
  EXPECT_EQ(g.GetUint("llama.block_count"), 5u);
  EXPECT_EQ(g.GetUint("llama.attention.head_count"), 8u);
  EXPECT_EQ(g.GetUint("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(g.GetUint("llama.feed_forward_length"), 172u);
  EXPECT_EQ(g.GetUint("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_NEAR(*g.GetFloat("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
  EXPECT_FALSE(g.GetString("llama.embedding_length").has_value());  // wrong type
  EXPECT_FALSE(g.GetUint("no.such.key").has_value());

  const std::vector<std::string>* tokens = g.GetStringArray("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->size(), 512u);
  const GgufValue* scores = g.Find("tokenizer.ggml.scores");
  ASSERT_NE(scores, nullptr);
  EXPECT_EQ(scores->type, GgufType::kArray);
  EXPECT_EQ(scores->array_size(), 512u);

  const GgufTensorInfo* emb = g.FindTensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->ne, (std::vector<uint64_t>{64, 512}));
  EXPECT_EQ(emb->dtype, DType::kF32);
  EXPECT_EQ(emb->nbytes, 64u * 512u * 4u);
  EXPECT_EQ(emb->num_elements(), 64u * 512u);
  EXPECT_EQ(g.tensors().size(), 48u);
  // The file stores the tied output projection as its own copy of the embedding.
  const GgufTensorInfo* out = g.FindTensor("output.weight");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->ne, emb->ne);
  EXPECT_EQ(std::memcmp(out->data, emb->data, emb->nbytes), 0);

  for (int l = 0; l < 5; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const GgufTensorInfo* q = g.FindTensor(p + "attn_q.weight");
    const GgufTensorInfo* k = g.FindTensor(p + "attn_k.weight");
    const GgufTensorInfo* up = g.FindTensor(p + "ffn_up.weight");
    const GgufTensorInfo* down = g.FindTensor(p + "ffn_down.weight");
    const GgufTensorInfo* norm = g.FindTensor(p + "attn_norm.weight");
    ASSERT_TRUE(q && k && up && down && norm) << p;
    EXPECT_EQ(q->ne, (std::vector<uint64_t>{64, 64}));
    EXPECT_EQ(k->ne, (std::vector<uint64_t>{64, 32}));  // 4 KV heads x 8
    EXPECT_EQ(up->ne, (std::vector<uint64_t>{64, 172}));
    EXPECT_EQ(down->ne, (std::vector<uint64_t>{172, 64}));
    EXPECT_EQ(norm->ne, (std::vector<uint64_t>{64}));
  }
  ASSERT_NE(g.FindTensor("output_norm.weight"), nullptr);

  // Every tensor lies inside the mapping, at an aligned address offset.
  const uint8_t* begin = g.mapping()->data();
  const uint8_t* end = begin + g.mapping()->size();
  for (const GgufTensorInfo& t : g.tensors()) {
    EXPECT_GE(t.data, begin) << t.name;
    EXPECT_LE(t.data + t.nbytes, end) << t.name;
    EXPECT_EQ((t.data - begin) % 32, 0) << t.name;
  }
  // The norm weights of a trained model are not all zero (the data pointer
  // reaches real values).
  const GgufTensorInfo* on = g.FindTensor("output_norm.weight");
  float first;
  std::memcpy(&first, on->data, 4);
  EXPECT_NE(first, 0.0f);
}

TEST(GgufTest, ReadsVocabOnlyFiles) {
  const std::string dir = SharedModelPath("vocab-tests");
  if (!HaveSharedModel("vocab-tests")) GTEST_SKIP() << "needs " << dir;
  DIR* d = ::opendir(dir.c_str());
  ASSERT_NE(d, nullptr);
  std::vector<std::string> files;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.substr(n.size() - 5) == ".gguf") files.push_back(dir + "/" + n);
  }
  ::closedir(d);
  ASSERT_FALSE(files.empty());
  for (const std::string& path : files) {
    auto f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const std::vector<std::string>* tokens = (*f)->GetStringArray("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr) << path;
    EXPECT_GT(tokens->size(), 1000u) << path;
    EXPECT_TRUE((*f)->GetString("tokenizer.ggml.model").has_value()) << path;
    EXPECT_TRUE((*f)->tensors().empty()) << path;
  }
}

TEST(GgufTest, MissingFileNamesThePath) {
  auto f = GgufFile::Open("/nonexistent/dir/m.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message().rfind("/nonexistent/dir/m.gguf:", 0), 0u)
      << f.status().message();
}

GgufValue IntArray(GgufType t, std::vector<int64_t> xs) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.array_type = t;
  v.ints = std::move(xs);
  return v;
}

GgufValue ScalarU(GgufType t, uint64_t x) {
  GgufValue v;
  v.type = t;
  v.u64 = x;
  return v;
}

GgufValue ScalarI(GgufType t, int64_t x) {
  GgufValue v;
  v.type = t;
  v.i64 = x;
  return v;
}

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

void WriteAndCheckAllTypes(uint32_t version, uint64_t alignment) {
  SCOPED_TRACE("version " + std::to_string(version) + " alignment " + std::to_string(alignment));
  GgufWriter w(version, alignment);
  w.SetString("general.architecture", "test");
  w.SetUint32("u32", 4000000000u);
  w.SetInt32("i32", -123456);
  w.SetUint64("u64", std::numeric_limits<uint64_t>::max());
  w.SetFloat32("f32", 1.5f);
  w.SetBool("bool.t", true);
  w.SetBool("bool.f", false);
  w.SetValue("u8", ScalarU(GgufType::kUint8, 250));
  w.SetValue("i8", ScalarI(GgufType::kInt8, -100));
  w.SetValue("u16", ScalarU(GgufType::kUint16, 65000));
  w.SetValue("i16", ScalarI(GgufType::kInt16, -32000));
  w.SetValue("i64", ScalarI(GgufType::kInt64, std::numeric_limits<int64_t>::min()));
  GgufValue f64;
  f64.type = GgufType::kFloat64;
  f64.f64 = 3.141592653589793;
  w.SetValue("f64", f64);
  w.SetString("str.empty", "");
  w.SetString("str.utf8", "h\xc3\xa9llo \xe2\x96\x81 world");
  w.SetStringArray("arr.str", {"a", "", "<0x0A>", "\xe2\x96\x81the"});
  w.SetFloat32Array("arr.f32", {0.5f, -2.25f, 1e30f});
  w.SetInt32Array("arr.i32", {1, -2, 2147483647});
  w.SetValue("arr.u8", IntArray(GgufType::kUint8, {0, 255, 7}));
  w.SetValue("arr.i8", IntArray(GgufType::kInt8, {-128, 127}));
  w.SetValue("arr.u16", IntArray(GgufType::kUint16, {65535}));
  w.SetValue("arr.i16", IntArray(GgufType::kInt16, {-1, 2}));
  w.SetValue("arr.u32", IntArray(GgufType::kUint32, {4294967295LL}));
  w.SetValue("arr.u64", IntArray(GgufType::kUint64, {-1, 5}));  // bits of UINT64_MAX
  w.SetValue("arr.i64", IntArray(GgufType::kInt64, {std::numeric_limits<int64_t>::min(), 9}));
  w.SetValue("arr.bool", IntArray(GgufType::kBool, {1, 0, 1}));
  GgufValue f64s;
  f64s.type = GgufType::kArray;
  f64s.array_type = GgufType::kFloat64;
  f64s.floats = {1e-300, -0.0};
  w.SetValue("arr.f64", f64s);
  GgufValue empty;
  empty.type = GgufType::kArray;
  empty.array_type = GgufType::kInt32;
  w.SetValue("arr.empty", empty);
  // [[["x"], []], [[1, 2]]]: arrays of arrays of mixed element types.
  GgufValue inner_s;
  inner_s.type = GgufType::kArray;
  inner_s.array_type = GgufType::kString;
  inner_s.strs = {"x"};
  GgufValue inner_e;
  inner_e.type = GgufType::kArray;
  inner_e.array_type = GgufType::kString;
  GgufValue mid1;
  mid1.type = GgufType::kArray;
  mid1.array_type = GgufType::kArray;
  mid1.arrays = {inner_s, inner_e};
  GgufValue mid2;
  mid2.type = GgufType::kArray;
  mid2.array_type = GgufType::kArray;
  mid2.arrays = {IntArray(GgufType::kInt32, {1, 2})};
  GgufValue nested;
  nested.type = GgufType::kArray;
  nested.array_type = GgufType::kArray;
  nested.arrays = {mid1, mid2};
  w.SetValue("arr.nested", nested);
  w.SetUint32("replaced", 1);
  w.SetUint32("replaced", 2);

  std::vector<uint8_t> f32 = Pattern(3 * 5 * 4, 1);
  std::vector<uint8_t> f16 = Pattern(7 * 2, 2);
  std::vector<uint8_t> q8 = Pattern(2 * 34 * 3, 3);   // ne {64, 3}
  std::vector<uint8_t> q4k = Pattern(144 * 2, 4);     // ne {256, 1, 2}
  std::vector<uint8_t> i32 = Pattern(2 * 2 * 2 * 2 * 4, 5);
  w.AddTensor("t.f32", {3, 5}, DType::kF32, f32);
  w.AddTensor("t.f16", {7}, DType::kF16, f16);
  w.AddTensor("t.q8_0", {64, 3}, DType::kQ8_0, q8);
  w.AddTensor("t.q4_k", {256, 1, 2}, DType::kQ4_K, q4k);
  w.AddTensor("t.i32", {2, 2, 2, 2}, DType::kI32, i32);

  const std::string path = MakeTempDir("gguf_rt") + "/m.gguf";
  ASSERT_TRUE(w.WriteTo(path).ok());
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  EXPECT_EQ(g.version(), version);
  EXPECT_EQ(g.alignment(), alignment);
  EXPECT_EQ(g.GetString("general.architecture"), "test");
  EXPECT_EQ(g.GetUint("u32"), 4000000000u);
  EXPECT_EQ(g.Find("u32")->type, GgufType::kUint32);
  EXPECT_EQ(g.GetInt("i32"), -123456);
  EXPECT_FALSE(g.GetUint("i32").has_value());  // negative
  EXPECT_EQ(g.GetUint("u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(g.GetInt("u64").has_value());   // out of int64 range
  EXPECT_EQ(g.GetFloat("f32"), 1.5);
  EXPECT_EQ(g.GetBool("bool.t"), true);
  EXPECT_EQ(g.GetBool("bool.f"), false);
  EXPECT_EQ(g.GetUint("u8"), 250u);
  EXPECT_EQ(g.Find("u8")->type, GgufType::kUint8);
  EXPECT_EQ(g.GetInt("i8"), -100);
  EXPECT_EQ(g.GetUint("u16"), 65000u);
  EXPECT_EQ(g.GetInt("i16"), -32000);
  EXPECT_EQ(g.GetInt("i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(g.GetFloat("f64"), 3.141592653589793);
  EXPECT_EQ(g.Find("f64")->type, GgufType::kFloat64);
  EXPECT_EQ(g.GetString("str.empty"), "");
  EXPECT_EQ(g.GetString("str.utf8"), "h\xc3\xa9llo \xe2\x96\x81 world");
  ASSERT_NE(g.GetStringArray("arr.str"), nullptr);
  EXPECT_EQ(*g.GetStringArray("arr.str"),
            (std::vector<std::string>{"a", "", "<0x0A>", "\xe2\x96\x81the"}));
  EXPECT_EQ(g.Find("arr.f32")->floats, (std::vector<double>{0.5, -2.25, double(1e30f)}));
  EXPECT_EQ(g.Find("arr.f32")->array_type, GgufType::kFloat32);
  EXPECT_EQ(g.Find("arr.i32")->ints, (std::vector<int64_t>{1, -2, 2147483647}));
  EXPECT_EQ(g.Find("arr.u8")->ints, (std::vector<int64_t>{0, 255, 7}));
  EXPECT_EQ(g.Find("arr.i8")->ints, (std::vector<int64_t>{-128, 127}));
  EXPECT_EQ(g.Find("arr.u16")->ints, (std::vector<int64_t>{65535}));
  EXPECT_EQ(g.Find("arr.i16")->ints, (std::vector<int64_t>{-1, 2}));
  EXPECT_EQ(g.Find("arr.u32")->ints, (std::vector<int64_t>{4294967295LL}));
  EXPECT_EQ(g.Find("arr.u64")->ints, (std::vector<int64_t>{-1, 5}));
  EXPECT_EQ(g.Find("arr.u64")->array_type, GgufType::kUint64);
  EXPECT_EQ(g.Find("arr.i64")->ints,
            (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 9}));
  EXPECT_EQ(g.Find("arr.bool")->ints, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(g.Find("arr.bool")->array_type, GgufType::kBool);
  EXPECT_EQ(g.Find("arr.f64")->floats[0], 1e-300);
  EXPECT_TRUE(std::signbit(g.Find("arr.f64")->floats[1]));
  EXPECT_EQ(g.Find("arr.empty")->array_size(), 0u);
  EXPECT_EQ(g.Find("arr.empty")->array_type, GgufType::kInt32);
  const GgufValue* n = g.Find("arr.nested");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->array_size(), 2u);
  ASSERT_EQ(n->arrays[0].array_size(), 2u);
  EXPECT_EQ(n->arrays[0].arrays[0].strs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(n->arrays[0].arrays[1].array_type, GgufType::kString);
  EXPECT_EQ(n->arrays[0].arrays[1].array_size(), 0u);
  ASSERT_EQ(n->arrays[1].array_size(), 1u);
  EXPECT_EQ(n->arrays[1].arrays[0].ints, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(g.GetUint("replaced"), 2u);
  if (alignment != 32) {
    EXPECT_EQ(g.GetUint("general.alignment"), alignment);
  }

  // Tensors come back in insertion order, with their bytes, aligned.
  ASSERT_EQ(g.tensors().size(), 5u);
  const std::vector<std::string> order = {"t.f32", "t.f16", "t.q8_0", "t.q4_k", "t.i32"};
  const std::vector<std::vector<uint8_t>*> datas = {&f32, &f16, &q8, &q4k, &i32};
  for (size_t i = 0; i < order.size(); ++i) {
    const GgufTensorInfo& t = g.tensors()[i];
    EXPECT_EQ(t.name, order[i]);
    ASSERT_EQ(t.nbytes, datas[i]->size()) << t.name;
    EXPECT_EQ(std::memcmp(t.data, datas[i]->data(), t.nbytes), 0) << t.name;
    EXPECT_EQ(t.offset % alignment, 0u) << t.name;
    EXPECT_EQ((t.data - g.mapping()->data()) % alignment, 0) << t.name;
  }
  EXPECT_EQ(g.FindTensor("t.q8_0")->dtype, DType::kQ8_0);
  EXPECT_EQ(g.FindTensor("t.q4_k")->ne, (std::vector<uint64_t>{256, 1, 2}));
  EXPECT_EQ(g.FindTensor("t.q4_k")->dtype, DType::kQ4_K);
  EXPECT_EQ(g.FindTensor("t.i32")->num_elements(), 16u);
}

TEST(GgufTest, RoundTripV3Align32) { WriteAndCheckAllTypes(3, 32); }
TEST(GgufTest, RoundTripV3Align64) { WriteAndCheckAllTypes(3, 64); }
TEST(GgufTest, RoundTripV2Align32) { WriteAndCheckAllTypes(2, 32); }
TEST(GgufTest, RoundTripV2Align64) { WriteAndCheckAllTypes(2, 64); }

TEST(GgufTest, WriterRejectsWrongDataSize) {
  GgufWriter w;
  w.AddTensor("bad", {4, 2}, DType::kF32, std::vector<uint8_t>(31));
  const std::string path = MakeTempDir("gguf_bad") + "/m.gguf";
  Status s = w.WriteTo(path);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'bad'"), std::string::npos) << s.message();
}

TEST(GgufTest, MetadataOnlyFileHasNoTensors) {
  GgufWriter w;
  w.SetString("general.architecture", "x");
  const std::string path = MakeTempDir("gguf_meta") + "/m.gguf";
  ASSERT_TRUE(w.WriteTo(path).ok());
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE((*f)->tensors().empty());
  EXPECT_EQ((*f)->metadata().size(), 1u);
}

// Writes `bytes` to a fresh file and opens it, expecting `needle` in the error.
void ExpectOpenError(const std::vector<uint8_t>& bytes, const std::string& needle) {
  const std::string path = MakeTempDir("gguf_err") + "/m.gguf";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  auto f = GgufFile::Open(path);
  ASSERT_FALSE(f.ok()) << "expected: " << needle;
  EXPECT_EQ(f.status().message().rfind(path + ": ", 0), 0u) << f.status().message();
  EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().message();
}

struct Bytes {
  std::vector<uint8_t> b;
  template <typename T>
  Bytes& Pod(T v) {
    const size_t at = b.size();
    b.resize(at + sizeof(T));
    std::memcpy(b.data() + at, &v, sizeof(T));
    return *this;
  }
  Bytes& Str(const std::string& s) {
    Pod<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& Header(uint32_t version, uint64_t tensors, uint64_t kvs) {
    b.insert(b.end(), {'G', 'G', 'U', 'F'});
    return Pod(version).Pod(tensors).Pod(kvs);
  }
};

TEST(GgufTest, RejectsMalformedHeaders) {
  ExpectOpenError({'G', 'G', 'U', 'X', 3, 0, 0, 0}, "bad magic");
  ExpectOpenError({'G', 'G'}, "truncated");
  ExpectOpenError(Bytes().Header(1, 0, 0).b, "version 1");
  ExpectOpenError(Bytes().Header(4, 0, 0).b, "unsupported GGUF version 4");
  ExpectOpenError(Bytes().Header(3, 0, 1ull << 60).b, "metadata entries");
  ExpectOpenError(Bytes().Header(3, 1ull << 62, 0).b, "tensors");
  // An array length that the file cannot hold is refused before allocating.
  ExpectOpenError(Bytes().Header(3, 0, 1).Str("k").Pod<uint32_t>(9).Pod<uint32_t>(4)
                      .Pod<uint64_t>(1ull << 61).Pod<uint64_t>(0).b,
                  "array of 2305843009213693952");
  ExpectOpenError(Bytes().Header(3, 0, 1).Str("k").Pod<uint32_t>(13).Pod<uint32_t>(0).b,
                  "unknown value type 13");
  ExpectOpenError(Bytes().Header(3, 0, 2).Str("k").Pod<uint32_t>(4).Pod<uint32_t>(1)
                      .Str("k").Pod<uint32_t>(4).Pod<uint32_t>(2).b,
                  "duplicate metadata key 'k'");
  ExpectOpenError(Bytes().Header(3, 0, 1).Str("k").Pod<uint32_t>(8).Pod<uint64_t>(1000).b,
                  "truncated");
  ExpectOpenError(Bytes().Header(3, 0, 1).Str("general.alignment").Pod<uint32_t>(4)
                      .Pod<uint32_t>(48).b,
                  "power of two");
  ExpectOpenError(Bytes().Header(3, 0, 1).Str("general.alignment").Pod<uint32_t>(4)
                      .Pod<uint32_t>(0).b,
                  "power of two");
  ExpectOpenError(Bytes().Header(3, 0, 1).Str("b").Pod<uint32_t>(7).Pod<uint8_t>(2).b,
                  "bool");
}

std::vector<uint8_t> OneTensorFile(uint32_t n_dims, std::vector<uint64_t> ne, uint32_t type,
                                   uint64_t offset, size_t data_bytes) {
  Bytes f;
  f.Header(3, 1, 0).Str("blk.0.attn_q.weight").Pod(n_dims);
  for (uint64_t d : ne) f.Pod(d);
  f.Pod(type).Pod(offset);
  while (f.b.size() % 32 != 0) f.b.push_back(0);
  f.b.resize(f.b.size() + data_bytes, 0x3f);
  return f.b;
}

TEST(GgufTest, RejectsMalformedTensors) {
  // A well-formed control first, so the failures below are the crafted ones.
  {
    const std::string path = MakeTempDir("gguf_ok") + "/m.gguf";
    std::vector<uint8_t> ok = OneTensorFile(2, {4, 2}, 0, 0, 32);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(ok.data()), ok.size());
    auto f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
  }
  ExpectOpenError(OneTensorFile(2, {4, 2}, 0, 0, 31),
                  "tensor 'blk.0.attn_q.weight' extends past the end of the file");
  ExpectOpenError(OneTensorFile(2, {4, 2}, 0, 64, 32), "extends past the end of the file");
  ExpectOpenError(OneTensorFile(2, {4, 2}, 0, 16, 64), "not a multiple of the alignment");
  ExpectOpenError(OneTensorFile(2, {4, 2}, 99, 0, 32),
                  "tensor 'blk.0.attn_q.weight' has unknown or unsupported ggml tensor type 99");
  ExpectOpenError(OneTensorFile(5, {1, 1, 1, 1, 1}, 0, 0, 32), "5 dimensions");
  ExpectOpenError(OneTensorFile(2, {1ull << 40, 1ull << 40}, 0, 0, 32), "overflows");
  ExpectOpenError(OneTensorFile(2, {1ull << 62, 1}, 0, 0, 32), "overflows");
  ExpectOpenError(OneTensorFile(1, {~0ull}, 0, 0, 32), "overflows");
  ExpectOpenError(OneTensorFile(1, {33}, 8, 0, 64), "not a multiple of the q8_0 block size 32");
  ExpectOpenError(OneTensorFile(2, {4, 2}, 0, ~0ull - 31, 32), "extends past the end");

  Bytes dup;
  dup.Header(3, 2, 0);
  for (int i = 0; i < 2; ++i) dup.Str("w").Pod<uint32_t>(1).Pod<uint64_t>(1).Pod<uint32_t>(0).Pod<uint64_t>(0);
  dup.b.resize(128, 0);
  ExpectOpenError(dup.b, "duplicate tensor name 'w'");
}

}  // namespace
}  // namespace pagoda
