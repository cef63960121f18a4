// Prefix-cache keys for KV blocks. A full block's key is
//   hash(parent block's key, the block's token ids, extra keys)
// so equal keys mean equal whole prefixes, not just equal blocks. Extra keys
// are the LoRA adapter id (every block: the same tokens through another
// adapter give other K/V) and the cache salt (first block only; the chain
// carries it to the rest), which keeps tenants from probing each other's
// prompts through cache timing. Room for multimodal content hashes goes here.
//
// Keys are 128 bits (two XXH64 lanes with independent seeds over an
// unambiguous, length-prefixed encoding), so a collision — which would hand a
// request someone else's K/V — is vanishingly unlikely and no token ids need
// to be stored to verify a hit. XXH64 is written here, not pulled in, because
// kv/ depends on base only and it is forty lines.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda {

struct BlockHash {
  uint64_t hi = 0;
  uint64_t lo = 0;
  friend bool operator==(const BlockHash&, const BlockHash&) = default;
  std::string ToHex() const;
};

// For unordered containers: the lanes are already well mixed.
struct BlockHashHasher {
  size_t operator()(const BlockHash& h) const { return static_cast<size_t>(h.lo ^ (h.hi * 0x9E3779B97F4A7C15ull)); }
};

// The parent key of a request's first block. Fixed (not random per process)
// so keys agree across processes and machines (KV transfer, offload).
inline constexpr BlockHash kRootBlockHash{0x7061676f64612d72ull, 0x6f6f742d6b657931ull};

struct BlockHashExtraKeys {
  int64_t lora_id = 0;         // 0 = no adapter
  std::string_view cache_salt{};  // used for the first block only
};

// XXH64 of `len` bytes (the reference algorithm, little-endian reads).
uint64_t XXHash64(const void* data, size_t len, uint64_t seed);

// The key of one full block.
BlockHash HashBlockTokens(const BlockHash& parent, bool is_first_block,
                          std::span<const int32_t> token_ids, const BlockHashExtraKeys& extra);

// Appends to *hashes the keys of the full blocks of token_ids that it does not
// cover yet (hashes->size() blocks are taken as already hashed), so a growing
// request is hashed once, block by block.
void ExtendBlockHashes(std::span<const int32_t> token_ids, int block_size,
                       const BlockHashExtraKeys& extra, std::vector<BlockHash>* hashes);

}  // namespace pagoda
