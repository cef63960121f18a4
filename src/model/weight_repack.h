// Load-time repacking of Q4_0 MatMul weights into the row-interleaved
// kQ4_0x8 layout (kernels/cpu/repack.h).
//
// Why: the CPU decode target. Batch-1 decode of a Q4_0 model is bound by
// the file-order kernel's instruction count; in groups of eight rows the
// AVX2 kernel needs about half the instructions per weight and no
// horizontal sums (llama.cpp repacks Q4_0 the same way on AVX2 CPUs). Every
// Q4_0 matrix used only as a MatMul weight with rows % 8 == 0 is repacked,
// on every instruction set, so the portable and AVX2 paths read the same
// layout and give the same bits. Not repacked: the token-embedding table
// (GetRow reads it row by row), lm_head when it is that same tensor (tied),
// and every other type, which stays in the file mapping.
//
// Memory: the repacked copies live in one anonymous mapping owned through
// ModelWeights::owners. Right after each source tensor is copied, the file
// pages it alone occupied (the page-aligned interior of its byte range) are
// dropped from this process with madvise(MADV_DONTNEED), so the resident
// set stays about one model file, not two. Only ranges inside `file` (a
// read-only mapping) are released.
//
// Not thread-safe on the same ModelWeights (run once while loading).
#pragma once

#include "base/mmap.h"
#include "base/status.h"
#include "model/weights.h"

namespace pagoda {

// Repacks in place (the WeightMatrix views are rewritten). `file` may be
// null: then nothing is released.
Status RepackQ4_0Weights(ModelWeights* weights, const MappedFile* file);

}  // namespace pagoda
