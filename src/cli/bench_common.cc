#include "cli/bench_common.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "kernels/cpu/read_bandwidth.h"

namespace pagoda {

std::vector<std::vector<int32_t>> RandomPrompts(int64_t vocab, int count, int len, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(count));
  for (auto& p : prompts) {
    for (int i = 0; i < len; ++i) p.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab)));
  }
  return prompts;
}

bool ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

double PeakRssMib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

double FileMib(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) return 0;
  return static_cast<double>(st.st_size) / (1024.0 * 1024.0);
}

double ProbeReadBandwidth(ThreadPool* pool, int mib) {
  if (mib <= 0) return 0;
  return cpu::MeasureReadBandwidth(pool, static_cast<size_t>(mib) << 20).best_gb_s;
}

namespace {
int64_t MatrixBytes(const WeightMatrix& w) { return w.rows * static_cast<int64_t>(w.row_bytes); }

// Every matrix one forward step reads in full.
std::vector<const WeightMatrix*> StepMatrices(const Model& m) {
  std::vector<const WeightMatrix*> out = {&m.weights().lm_head};
  for (const LayerWeights& l : m.weights().layers) {
    for (const WeightMatrix* w : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj,
                                  &l.up_proj, &l.down_proj}) {
      out.push_back(w);
    }
  }
  return out;
}
}  // namespace

int64_t WeightBytesPerStep(const Model& m) {
  int64_t bytes = 0;
  for (const WeightMatrix* w : StepMatrices(m)) bytes += MatrixBytes(*w);
  return bytes;
}

double ProbeWeightsReadBandwidth(ThreadPool* pool, const Model& m, int passes) {
  std::vector<cpu::ByteRange> ranges;
  for (const WeightMatrix* w : StepMatrices(m)) ranges.push_back({w->data, static_cast<size_t>(MatrixBytes(*w))});
  return cpu::MeasureReadBandwidthOf(pool, ranges, passes).best_gb_s;
}

double PrefillFlops(const Model& m, int batch, int input_len) {
  const ModelConfig& c = m.config();
  double layer_params = 0;
  for (const WeightMatrix* w : {&m.weights().layers[0].q_proj, &m.weights().layers[0].k_proj,
                                &m.weights().layers[0].v_proj, &m.weights().layers[0].o_proj,
                                &m.weights().layers[0].gate_proj, &m.weights().layers[0].up_proj,
                                &m.weights().layers[0].down_proj}) {
    layer_params += static_cast<double>(w->rows) * static_cast<double>(w->cols);
  }
  const double n = input_len;
  const double tokens = static_cast<double>(batch) * n;
  const double attention = 4.0 * static_cast<double>(c.q_size()) * (n * (n + 1) / 2) * batch;
  const double lm_head = 2.0 * static_cast<double>(c.vocab_size) * static_cast<double>(c.hidden_size) * batch;
  return static_cast<double>(c.num_layers) * (2.0 * layer_params * tokens + attention) + lm_head;
}

RunStats Summarize(const std::vector<double>& v) {
  RunStats s;
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  return s;
}

}  // namespace pagoda
