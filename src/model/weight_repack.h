// Load-time repacking of MatMul weights into the row-interleaved layouts
// of kernels/cpu/repack.h: Q4_0 into kQ4_0x8, Q8_0 into kQ8_0x8,
// F32/F16/BF16 into kFloatX8.
//
// Why: the CPU decode targets. Batch-1 decode of a Q4_0 or Q8_0 model is
// bound by the file-order kernel's instruction count; in groups of eight
// rows the AVX2 kernel needs fewer instructions per weight and no
// horizontal sums (llama.cpp repacks Q4_0 the same way on AVX2 CPUs).
// Batch-1 decode of an F16 model is bound by memory reads, and eight rows
// interleaved are one contiguous stream that reads at the machine's full
// bandwidth where four file-order rows side by side do not; the arena's
// huge pages also spare a TLB miss every 4 KiB. Every such matrix used only
// as a MatMul weight with whole groups of eight rows is repacked, on every
// instruction set, so the portable and AVX2 paths read the same layout.
// kFloatX8 leaves every bit of the products unchanged; kQ4_0x8's and
// kQ8_0x8's arithmetic is described in kernels/cpu/qmatmul.h. A tied
// lm_head (the token-embedding table itself) is repacked too and the
// embedding then reads the repacked matrix: GetRow gathers a row back into
// the file's bytes, the same values, and it is often the model's largest
// matrix. Not repacked: an untied embedding table (GetRow reads its rows
// in place) and every other type, which stay in the file mapping.
//
// Memory: the repacked copies live in one anonymous mapping owned through
// ModelWeights::owners. Right after each source tensor is copied, the file
// pages it alone occupied (the page-aligned interior of its byte range) are
// dropped from this process with madvise(MADV_DONTNEED), so the resident
// set stays about one model file, not two. Only ranges inside one of
// `files` (read-only mappings) are released.
//
// Not thread-safe on the same ModelWeights (run once while loading).
#pragma once

#include <vector>

#include "base/mmap.h"
#include "base/status.h"
#include "model/weights.h"

namespace pagoda {

// Repacks in place (the WeightMatrix views are rewritten). `files`: the
// mappings the weights point into, whose copied pages are released.
Status RepackWeights(ModelWeights* weights, const std::vector<const MappedFile*>& files);

}  // namespace pagoda
