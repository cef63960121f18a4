// Corrupted variants of real files: every Open must either succeed or fail
// with a Status naming the file; never crash or read out of bounds. This file
// also builds into formats_asan_tests (AddressSanitizer + UBSan).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using ::pagoda::testing::HaveSharedModel;
using ::pagoda::testing::MakeTempDir;
using ::pagoda::testing::SharedModelPath;

constexpr char kStories[] = "stories260K/stories260K.gguf";

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const uint8_t* data, size_t n) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path;
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd, data + done, n - done);
    ASSERT_GT(w, 0) << path;
    done += static_cast<size_t>(w);
  }
  ::close(fd);
}

// One on-disk copy of a file that variants patch in place and then restore,
// so a variant costs a few bytes of I/O instead of a whole file.
class PatchedFile {
 public:
  PatchedFile(std::string path, std::vector<uint8_t> original)
      : path_(std::move(path)), original_(std::move(original)) {
    WriteFile(path_, original_.data(), original_.size());
  }
  const std::string& path() const { return path_; }
  const std::vector<uint8_t>& original() const { return original_; }

  void Patch(size_t at, const std::vector<uint8_t>& bytes) { PWrite(at, bytes.data(), bytes.size()); }
  void Restore(size_t at, size_t n) { PWrite(at, original_.data() + at, n); }

 private:
  void PWrite(size_t at, const uint8_t* p, size_t n) {
    const int fd = ::open(path_.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, p, n, static_cast<off_t>(at)), static_cast<ssize_t>(n));
    ::close(fd);
  }
  std::string path_;
  std::vector<uint8_t> original_;
};

template <typename T>
std::vector<uint8_t> Le(T v) {
  std::vector<uint8_t> b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

// Opens `path` with the reader under test; on success reads the first and
// last byte of every tensor (a bad extent would fault), on failure checks
// the message names the file. Returns the Status.
Status CheckGguf(const std::string& path) {
  auto f = GgufFile::Open(path);
  if (!f.ok()) {
    EXPECT_EQ(f.status().message().rfind(path + ":", 0), 0u) << f.status().message();
    return f.status();
  }
  unsigned sum = 0;
  for (const GgufTensorInfo& t : (*f)->tensors()) {
    if (t.nbytes > 0) sum += t.data[0] + t.data[t.nbytes - 1];
  }
  (void)sum;
  return Status::Ok();
}

Status CheckSafetensors(const std::string& path) {
  auto f = SafetensorsFile::Open(path);
  if (!f.ok()) {
    EXPECT_EQ(f.status().message().rfind(path + ":", 0), 0u) << f.status().message();
    return f.status();
  }
  unsigned sum = 0;
  for (const SafetensorInfo& t : (*f)->tensors()) {
    if (t.nbytes > 0) sum += t.data[0] + t.data[t.nbytes - 1];
  }
  (void)sum;
  return Status::Ok();
}

size_t FindBytes(const std::vector<uint8_t>& hay, const std::string& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  return it == hay.end() ? std::string::npos : static_cast<size_t>(it - hay.begin());
}

// Where a tensor info's fields sit in the file, found from its name.
struct InfoAt {
  size_t n_dims, ne, type, offset;
};
InfoAt LocateTensorInfo(const std::vector<uint8_t>& file, const std::string& name,
                        uint32_t n_dims) {
  const size_t at = FindBytes(file, name);
  EXPECT_NE(at, std::string::npos) << name;
  InfoAt i;
  i.n_dims = at + name.size();
  i.ne = i.n_dims + 4;
  i.type = i.ne + 8 * n_dims;
  i.offset = i.type + 4;
  return i;
}

// The end of the tensor infos in stories260K: everything before the data.
size_t HeaderRegionEnd(const std::vector<uint8_t>& file) {
  InfoAt last = LocateTensorInfo(file, "blk.4.ffn_norm.weight", 1);
  return last.offset + 8;
}

TEST(FormatsFuzzTest, TruncatedGguf) {
  if (!HaveSharedModel(kStories)) GTEST_SKIP() << "needs " << SharedModelPath(kStories);
  const std::vector<uint8_t> file = ReadAll(SharedModelPath(kStories));
  ASSERT_GT(file.size(), 100000u);
  const std::string path = MakeTempDir("fuzz_gguf_trunc") + "/t.gguf";
  const size_t header_end = HeaderRegionEnd(file);
  ASSERT_LT(header_end, 20000u);
  int failures = 0, variants = 0;
  // Every length through the metadata and tensor infos.
  for (size_t len = 0; len <= header_end + 64; ++len) {
    WriteFile(path, file.data(), len);
    failures += !CheckGguf(path).ok();
    ++variants;
  }
  // A sample of lengths inside the tensor data: some tensor must then end past EOF.
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 60; ++i) {
    const size_t len = header_end + 64 + rng() % (file.size() - header_end - 64);
    WriteFile(path, file.data(), len);
    Status s = CheckGguf(path);
    EXPECT_FALSE(s.ok()) << len;
    EXPECT_NE(s.message().find("extends past the end of the file"), std::string::npos)
        << s.message();
    ++variants;
  }
  WriteFile(path, file.data(), file.size() - 1);
  EXPECT_FALSE(CheckGguf(path).ok());
  // Everything short of the full file is refused.
  EXPECT_EQ(failures, static_cast<int>(header_end + 64 + 1));
  std::cout << variants << " truncated GGUF variants\n";
}

TEST(FormatsFuzzTest, FlippedGguf) {
  if (!HaveSharedModel(kStories)) GTEST_SKIP() << "needs " << SharedModelPath(kStories);
  PatchedFile pf(MakeTempDir("fuzz_gguf_flip") + "/f.gguf", ReadAll(SharedModelPath(kStories)));
  const std::vector<uint8_t>& file = pf.original();
  const size_t header_end = HeaderRegionEnd(file);
  std::mt19937_64 rng(20240601);
  int ok = 0, bad = 0;
  for (int i = 0; i < 4000; ++i) {
    // Mostly the parsed region: flips in tensor data are always accepted.
    const size_t at = (i % 5 != 0) ? rng() % header_end : rng() % file.size();
    std::vector<uint8_t> b;
    switch (i % 4) {
      case 0: b = {static_cast<uint8_t>(file[at] ^ (1u << (rng() % 8)))}; break;  // bit
      case 1: b = {static_cast<uint8_t>(rng())}; break;                           // byte
      case 2: b = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}; break;        // huge
      default: b = Le<uint64_t>(rng()); break;                                     // noise
    }
    b.resize(std::min(b.size(), file.size() - at));
    pf.Patch(at, b);
    (CheckGguf(pf.path()).ok() ? ok : bad)++;
    pf.Restore(at, b.size());
  }
  EXPECT_GT(bad, 500);
  EXPECT_GT(ok, 100);
  EXPECT_TRUE(CheckGguf(pf.path()).ok());  // restored
  std::cout << ok << " flipped GGUF variants opened, " << bad << " refused\n";
}

// Patches `bytes` at `at`, expects Open to fail with `needle`, restores.
void ExpectGgufError(PatchedFile& pf, size_t at, const std::vector<uint8_t>& bytes,
                     const std::string& needle) {
  pf.Patch(at, bytes);
  Status s = CheckGguf(pf.path());
  EXPECT_FALSE(s.ok()) << "expected: " << needle;
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  pf.Restore(at, bytes.size());
}

TEST(FormatsFuzzTest, CraftedGguf) {
  if (!HaveSharedModel(kStories)) GTEST_SKIP() << "needs " << SharedModelPath(kStories);
  PatchedFile pf(MakeTempDir("fuzz_gguf_craft") + "/c.gguf", ReadAll(SharedModelPath(kStories)));
  const std::vector<uint8_t>& file = pf.original();
  ASSERT_TRUE(CheckGguf(pf.path()).ok());

  ExpectGgufError(pf, 0, {'X'}, "bad magic");
  ExpectGgufError(pf, 4, Le<uint32_t>(1), "version 1");
  ExpectGgufError(pf, 4, Le<uint32_t>(0x03000000), "unsupported GGUF version");
  ExpectGgufError(pf, 8, Le<uint64_t>(~0ull), "tensors, more than the file size");
  ExpectGgufError(pf, 16, Le<uint64_t>(~0ull), "metadata entries, more than the file size");
  // One tensor more than there is: its info is read from the zero padding.
  ExpectGgufError(pf, 8, Le<uint64_t>(49), "tensor info 48 has an empty name");

  const std::string tokens = "tokenizer.ggml.tokens";
  const size_t tok = FindBytes(file, tokens);
  ASSERT_NE(tok, std::string::npos);
  const size_t tok_type = tok + tokens.size();
  const size_t tok_count = tok_type + 8;
  ExpectGgufError(pf, tok_count, Le<uint64_t>(1ull << 62), "claims an array of");
  ExpectGgufError(pf, tok_count, Le<uint64_t>(~0ull), "claims an array of");
  ExpectGgufError(pf, tok_type, Le<uint32_t>(77), "unknown value type 77");
  ExpectGgufError(pf, tok_type + 4, Le<uint32_t>(13), "unknown value type 13");
  // The first token's length pointing past the end of the file.
  ExpectGgufError(pf, tok_count + 8, Le<uint64_t>(1ull << 40), "truncated");

  const std::string bos = "tokenizer.ggml.bos_token_id";
  const size_t bos_at = FindBytes(file, bos);
  ASSERT_NE(bos_at, std::string::npos);
  ExpectGgufError(pf, bos_at + 15, {'e'}, "duplicate metadata key 'tokenizer.ggml.eos_token_id'");

  const InfoAt emb = LocateTensorInfo(file, "token_embd.weight", 2);
  ExpectGgufError(pf, emb.type, Le<uint32_t>(99),
                  "tensor 'token_embd.weight' has unknown or unsupported ggml tensor type 99");
  ExpectGgufError(pf, emb.n_dims, Le<uint32_t>(9), "9 dimensions");
  std::vector<uint8_t> big_dims = Le<uint64_t>(1ull << 40);
  const std::vector<uint8_t> big2 = Le<uint64_t>(1ull << 40);
  big_dims.insert(big_dims.end(), big2.begin(), big2.end());
  ExpectGgufError(pf, emb.ne, big_dims, "overflows");
  ExpectGgufError(pf, emb.ne + 8, Le<uint64_t>(1ull << 62), "overflows");
  ExpectGgufError(pf, emb.ne + 8, Le<uint64_t>(1ull << 30), "extends past the end of the file");
  ExpectGgufError(pf, emb.offset, Le<uint64_t>(1), "not a multiple of the alignment");

  const InfoAt last = LocateTensorInfo(file, "blk.4.ffn_norm.weight", 1);
  ExpectGgufError(pf, last.offset, Le<uint64_t>(file.size()),
                  "tensor 'blk.4.ffn_norm.weight' extends past the end of the file");
  ExpectGgufError(pf, last.offset, Le<uint64_t>(~0ull & ~31ull), "extends past the end");

  const InfoAt down = LocateTensorInfo(file, "blk.0.ffn_down.weight", 2);
  ExpectGgufError(pf, down.type, Le<uint32_t>(8), "not a multiple of the q8_0 block size");
  ExpectGgufError(pf, FindBytes(file, "blk.0.attn_q.weight") + 11, {'k'},
                  "duplicate tensor name 'blk.0.attn_k.weight'");
  EXPECT_TRUE(CheckGguf(pf.path()).ok());
}

std::vector<uint8_t> MakeSafetensors(const std::string& path) {
  SafetensorsWriter w;
  std::mt19937 rng(7);
  auto bytes = [&rng](size_t n) {
    std::vector<uint8_t> b(n);
    for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  w.Add("model.embed_tokens.weight", DType::kBF16, {16, 8}, bytes(16 * 8 * 2));
  w.Add("model.layers.0.self_attn.q_proj.weight", DType::kF32, {8, 8}, bytes(8 * 8 * 4));
  w.Add("model.layers.0.input_layernorm.weight", DType::kF16, {8}, bytes(16));
  w.Add("model.norm.weight", DType::kF64, {8}, bytes(64));
  w.Add("step", DType::kI64, {}, bytes(8));
  w.Add("mask", DType::kI8, {3, 2}, bytes(6));
  w.SetMetadata("format", "pt");
  EXPECT_TRUE(w.WriteTo(path).ok());
  return ReadAll(path);
}

TEST(FormatsFuzzTest, TruncatedAndFlippedSafetensors) {
  const std::string dir = MakeTempDir("fuzz_st");
  const std::vector<uint8_t> file = MakeSafetensors(dir + "/orig.safetensors");
  ASSERT_TRUE(CheckSafetensors(dir + "/orig.safetensors").ok());
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  const std::string tpath = dir + "/t.safetensors";
  for (size_t len = 0; len < file.size(); ++len) {
    WriteFile(tpath, file.data(), len);
    EXPECT_FALSE(CheckSafetensors(tpath).ok()) << len;
  }
  PatchedFile pf(dir + "/f.safetensors", file);
  std::mt19937_64 rng(99);
  int ok = 0, bad = 0;
  // Every header byte set to a few values that matter to JSON, then random flips.
  const std::vector<uint8_t> specials = {'"', '{', ']', '9', '-', 0, 0xff};
  for (size_t at = 0; at < 8 + header_len; ++at) {
    for (uint8_t v : specials) {
      if (v == file[at]) continue;
      pf.Patch(at, {v});
      (CheckSafetensors(pf.path()).ok() ? ok : bad)++;
      pf.Restore(at, 1);
    }
  }
  for (int i = 0; i < 2000; ++i) {
    const size_t at = rng() % (8 + header_len);
    const std::vector<uint8_t> b = {static_cast<uint8_t>(file[at] ^ (1u << (rng() % 8)))};
    pf.Patch(at, b);
    (CheckSafetensors(pf.path()).ok() ? ok : bad)++;
    pf.Restore(at, 1);
  }
  EXPECT_GT(bad, 1000);
  std::cout << ok << " flipped safetensors variants opened, " << bad << " refused\n";
}

TEST(FormatsFuzzTest, CraftedSafetensors) {
  const std::string dir = MakeTempDir("fuzz_st_craft");
  const std::vector<uint8_t> file = MakeSafetensors(dir + "/orig.safetensors");
  PatchedFile pf(dir + "/c.safetensors", file);
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  auto expect = [&pf](size_t at, const std::vector<uint8_t>& b, const std::string& needle) {
    pf.Patch(at, b);
    Status s = CheckSafetensors(pf.path());
    EXPECT_FALSE(s.ok()) << "expected: " << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
    pf.Restore(at, b.size());
  };
  expect(0, Le<uint64_t>(~0ull), "runs past the end of the file");
  expect(0, Le<uint64_t>(header_len + 1000), "runs past the end of the file");
  const std::string json(file.begin() + 8, file.begin() + 8 + static_cast<long>(header_len));
  expect(0, Le<uint64_t>(json.rfind('}')), "not valid JSON");  // cuts the closing brace
  expect(8, {'['}, "not valid JSON");
  const size_t bf16 = json.find("\"BF16\"");
  ASSERT_NE(bf16, std::string::npos);
  expect(8 + bf16 + 1, {'U', '1', '6', ' '}, "dtype 'U16 '");
  expect(8 + bf16 + 1, {'B', 'O', 'O', 'L'}, "tensor 'model.embed_tokens.weight' has dtype 'BOOL'");

  // Offsets past the end and overflowing shapes need a rewritten header.
  auto expect_header = [&dir](const std::string& header, size_t data, const std::string& needle) {
    std::vector<uint8_t> raw = Le<uint64_t>(header.size());
    raw.insert(raw.end(), header.begin(), header.end());
    raw.resize(raw.size() + data, 0x42);
    const std::string path = dir + "/h.safetensors";
    WriteFile(path, raw.data(), raw.size());
    Status s = CheckSafetensors(path);
    EXPECT_FALSE(s.ok()) << "expected: " << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  expect_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}})", 20,
                "tensor 'w' extends past the end of the file");
  expect_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[18446744073709551600,)"
                R"(18446744073709551615]}})",
                20, "bytes in data_offsets");
  expect_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[18446744073709551599,)"
                R"(18446744073709551615]}})",
                20, "extends past the end of the file");
  expect_header(R"({"w":{"dtype":"F32","shape":[65536,65536,65536,65536],"data_offsets":[0,4]}})",
                4, "overflows");
  expect_header(R"({"w":{"dtype":"F32","shape":[1e3],"data_offsets":[0,4]}})", 4,
                "non-negative integer");
}

}  // namespace
}  // namespace pagoda
