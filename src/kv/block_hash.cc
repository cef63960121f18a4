#include "kv/block_hash.h"

#include <cstdio>
#include <cstring>

#include "base/check.h"

namespace pagoda {
namespace {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ull;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ull;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ull;

// Two unrelated seeds give the two 64-bit lanes of a BlockHash.
constexpr uint64_t kSeedHi = 0x243F6A8885A308D3ull;  // digits of pi
constexpr uint64_t kSeedLo = 0x13198A2E03707344ull;

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t Read64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline uint32_t Read32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

inline uint64_t Round(uint64_t acc, uint64_t input) {
  acc += input * kPrime2;
  acc = Rotl(acc, 31);
  return acc * kPrime1;
}

inline uint64_t MergeRound(uint64_t acc, uint64_t val) {
  acc ^= Round(0, val);
  return acc * kPrime1 + kPrime4;
}

// Little-endian, length-prefixed serialisation: no two different inputs
// (e.g. a token moved from one field into another) encode to the same bytes.
class Encoder {
 public:
  void U8(uint8_t v) { bytes_.push_back(v); }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void Bytes(std::string_view s) { bytes_.insert(bytes_.end(), s.begin(), s.end()); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace

std::string BlockHash::ToHex() const {
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return buf;
}

uint64_t XXHash64(const void* data, size_t len, uint64_t seed) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  const uint8_t* const end = p + len;
  uint64_t h;
  if (len >= 32) {
    uint64_t v1 = seed + kPrime1 + kPrime2;
    uint64_t v2 = seed + kPrime2;
    uint64_t v3 = seed;
    uint64_t v4 = seed - kPrime1;
    const uint8_t* const limit = end - 32;
    do {
      v1 = Round(v1, Read64(p));
      v2 = Round(v2, Read64(p + 8));
      v3 = Round(v3, Read64(p + 16));
      v4 = Round(v4, Read64(p + 24));
      p += 32;
    } while (p <= limit);
    h = Rotl(v1, 1) + Rotl(v2, 7) + Rotl(v3, 12) + Rotl(v4, 18);
    h = MergeRound(h, v1);
    h = MergeRound(h, v2);
    h = MergeRound(h, v3);
    h = MergeRound(h, v4);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<uint64_t>(len);
  while (p + 8 <= end) {
    h ^= Round(0, Read64(p));
    h = Rotl(h, 27) * kPrime1 + kPrime4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= static_cast<uint64_t>(Read32(p)) * kPrime1;
    h = Rotl(h, 23) * kPrime2 + kPrime3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<uint64_t>(*p) * kPrime5;
    h = Rotl(h, 11) * kPrime1;
    ++p;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

BlockHash HashBlockTokens(const BlockHash& parent, bool is_first_block,
                          std::span<const int32_t> token_ids, const BlockHashExtraKeys& extra) {
  Encoder e;
  e.U64(parent.hi);
  e.U64(parent.lo);
  e.U32(static_cast<uint32_t>(token_ids.size()));
  for (int32_t t : token_ids) e.U32(static_cast<uint32_t>(t));
  e.U64(static_cast<uint64_t>(extra.lora_id));
  // The salt only enters the first block; later blocks inherit it through
  // the parent chain. An empty salt is the same as none (as in vLLM).
  const bool salted = is_first_block && !extra.cache_salt.empty();
  e.U8(salted ? 1 : 0);
  if (salted) {
    e.U64(extra.cache_salt.size());
    e.Bytes(extra.cache_salt);
  }
  const auto& b = e.bytes();
  return BlockHash{XXHash64(b.data(), b.size(), kSeedHi), XXHash64(b.data(), b.size(), kSeedLo)};
}

void ExtendBlockHashes(std::span<const int32_t> token_ids, int block_size,
                       const BlockHashExtraKeys& extra, std::vector<BlockHash>* hashes) {
  CHECK_GT(block_size, 0);
  const size_t num_full_blocks = token_ids.size() / static_cast<size_t>(block_size);
  for (size_t i = hashes->size(); i < num_full_blocks; ++i) {
    const BlockHash parent = i == 0 ? kRootBlockHash : (*hashes)[i - 1];
    hashes->push_back(HashBlockTokens(parent, i == 0, token_ids.subspan(i * block_size, block_size), extra));
  }
}

}  // namespace pagoda
