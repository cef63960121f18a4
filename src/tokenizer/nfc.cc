// NFC normalisation (UAX #15): full canonical decomposition (Hangul
// syllables algorithmically), canonical ordering of combining marks, then
// canonical composition of primary composites.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/nfc_tables.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;
// Invalid input bytes travel through as this marker plus the byte value;
// they are starters (class 0) that compose with nothing.
constexpr uint32_t kRawByte = 0x80000000u;

uint8_t CombiningClass(uint32_t cp) {
  if (cp < nfc::kNfcFastBound || cp >= kRawByte) return 0;
  const nfc::CccRun* end = nfc::kCombiningClass + nfc::kCombiningClassSize;
  const nfc::CccRun* it = std::upper_bound(
      nfc::kCombiningClass, end, cp, [](uint32_t c, const nfc::CccRun& r) { return c < r.first; });
  if (it == nfc::kCombiningClass) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

void Decompose(uint32_t cp, std::vector<uint32_t>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
    return;
  }
  const nfc::Decomp* end = nfc::kDecomposition + nfc::kDecompositionSize;
  const nfc::Decomp* it = std::lower_bound(
      nfc::kDecomposition, end, cp, [](const nfc::Decomp& d, uint32_t c) { return d.cp < c; });
  if (it != end && it->cp == cp) {
    out->insert(out->end(), nfc::kDecompositionData + it->offset,
                nfc::kDecompositionData + it->offset + it->len);
  } else {
    out->push_back(cp);
  }
}

// The primary composite of (a, b), or 0.
uint32_t Compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const nfc::Comp* end = nfc::kComposition + nfc::kCompositionSize;
  const nfc::Comp* it = std::lower_bound(
      nfc::kComposition, end, std::pair(a, b), [](const nfc::Comp& c, std::pair<uint32_t, uint32_t> k) {
        return c.first != k.first ? c.first < k.first : c.second < k.second;
      });
  return (it != end && it->first == a && it->second == b) ? it->composite : 0;
}

bool HasDecomposition(uint32_t cp) {
  if (cp >= kSBase && cp < kSBase + kSCount) return true;
  const nfc::Decomp* end = nfc::kDecomposition + nfc::kDecompositionSize;
  const nfc::Decomp* it = std::lower_bound(
      nfc::kDecomposition, end, cp, [](const nfc::Decomp& d, uint32_t c) { return d.cp < c; });
  return it != end && it->cp == cp;
}

// Code points that can join a preceding character (second halves of
// primary composites, Hangul vowels and trailing consonants).
const std::vector<uint32_t>& CombinesBackward() {
  static const std::vector<uint32_t> seconds = [] {
    std::vector<uint32_t> v;
    for (size_t i = 0; i < nfc::kCompositionSize; ++i) v.push_back(nfc::kComposition[i].second);
    for (uint32_t c = kVBase; c < kVBase + kVCount; ++c) v.push_back(c);
    for (uint32_t c = kTBase + 1; c < kTBase + kTCount; ++c) v.push_back(c);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }();
  return seconds;
}

// True when `cp` is unchanged by NFC whatever surrounds it, so text made of
// such characters only (nearly all real text) is returned as it is.
bool IsStable(int32_t cp) {
  if (cp < 0) return false;
  const auto c = static_cast<uint32_t>(cp);
  if (c < nfc::kNfcFastBound) return true;
  if (CombiningClass(c) != 0 || HasDecomposition(c)) return false;
  const std::vector<uint32_t>& back = CombinesBackward();
  return !std::binary_search(back.begin(), back.end(), c);
}

}  // namespace

std::string NfcNormalize(std::string_view text) {
  bool stable = true;
  for (size_t pos = 0; pos < text.size() && stable;) {
    size_t len = 1;
    stable = IsStable(DecodeUtf8(text, pos, &len));
    pos += len;
  }
  if (stable) return std::string(text);

  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    size_t len = 1;
    const int32_t cp = DecodeUtf8(text, pos, &len);
    if (cp < 0) {
      cps.push_back(kRawByte | static_cast<uint8_t>(text[pos]));
    } else {
      Decompose(static_cast<uint32_t>(cp), &cps);
    }
    pos += len;
  }
  // Canonical ordering: stable sort of each run of non-starters by class.
  std::vector<uint8_t> cls(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) cls[i] = CombiningClass(cps[i]);
  for (size_t i = 0; i < cps.size();) {
    if (cls[i] == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && cls[j] != 0) ++j;
    if (j - i > 1) {
      std::vector<std::pair<uint8_t, uint32_t>> run;
      for (size_t k = i; k < j; ++k) run.emplace_back(cls[k], cps[k]);
      std::stable_sort(run.begin(), run.end(),
                       [](const auto& x, const auto& y) { return x.first < y.first; });
      for (size_t k = i; k < j; ++k) {
        cls[k] = run[k - i].first;
        cps[k] = run[k - i].second;
      }
    }
    i = j;
  }
  // Canonical composition: a character joins the last starter unless a
  // character of the same or higher class (or a starter) sits between them.
  size_t out_len = 0;
  size_t starter = SIZE_MAX;
  int last_class = -1;
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t cp = cps[i];
    const int c = cls[i];
    if (starter != SIZE_MAX && cp < kRawByte && cps[starter] < kRawByte) {
      // Characters between the starter and here are non-starters in class
      // order, so the last one's class is their largest.
      const bool blocked = out_len != starter + 1 && last_class >= c;
      if (!blocked) {
        const uint32_t composite = Compose(cps[starter], cp);
        if (composite != 0) {
          cps[starter] = composite;
          continue;
        }
      }
    }
    if (c == 0) {
      starter = out_len;
      last_class = -1;
    } else {
      last_class = c;
    }
    cls[out_len] = static_cast<uint8_t>(c);
    cps[out_len++] = cp;
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < out_len; ++i) {
    if (cps[i] >= kRawByte) {
      out.push_back(static_cast<char>(cps[i] & 0xFF));
    } else {
      AppendUtf8(cps[i], &out);
    }
  }
  return out;
}

void CanonicalDecompose(uint32_t cp, std::vector<uint32_t>* out) { Decompose(cp, out); }

}  // namespace pagoda
