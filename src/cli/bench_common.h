// What the offline benchmarks (`pagoda bench latency`, `bench throughput`)
// measure alike: random prompts, the resident-memory peak, the machine's
// read bandwidth with the engine's threads, and the weight bytes one
// forward step streams. Plain functions; the peak-RSS pair touches the
// process's /proc counters (call them from one thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "model/model.h"

namespace pagoda {

// `count` prompts of `len` token ids drawn uniformly from [0, vocab).
std::vector<std::vector<int32_t>> RandomPrompts(int64_t vocab, int count, int len, uint64_t seed);

// Resets the peak resident set (VmHWM through /proc/self/clear_refs);
// false where the kernel does not allow it (the peak then covers the whole
// process).
bool ResetPeakRss();
// Peak resident set since the last reset, MiB.
double PeakRssMib();

// Size of a file in MiB (0 for a folder or a missing file).
double FileMib(const std::string& path);

// Best pass of a streaming read of `mib` MiB with the pool's threads, GB/s
// (0 when mib is 0).
double ProbeReadBandwidth(ThreadPool* pool, int mib);

// Best of `passes` passes streaming the model's own layer and output
// matrices (the bytes decode reads, where they live), GB/s.
double ProbeWeightsReadBandwidth(ThreadPool* pool, const Model& m, int passes = 5);

// Bytes of weights one forward step reads whatever its batch: every layer
// matrix and the output matrix (the embedding contributes one row per
// token, left out).
int64_t WeightBytesPerStep(const Model& m);

// Floating-point operations (multiply-adds x 2) of prefilling `batch`
// prompts of `input_len` tokens: every prompt token through every layer
// matrix, attention over its causal context (QK^T and PV), and the output
// matrix for the one position per sequence that samples.
double PrefillFlops(const Model& m, int batch, int input_len);

struct RunStats {
  double mean = 0, min = 0, max = 0;
};
RunStats Summarize(const std::vector<double>& v);

}  // namespace pagoda
