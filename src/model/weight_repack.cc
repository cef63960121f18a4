// Repacks a model's MatMul weights by eight at load (see weight_repack.h).
#include "model/weight_repack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/cpu/repack.h"

namespace pagoda {

namespace {

// Every matrix that only MatMul reads and that can be repacked.
std::vector<WeightMatrix*> Candidates(ModelWeights* w) {
  std::vector<WeightMatrix*> out;
  auto add = [&](WeightMatrix* m) {
    if (cpu::CanRepack(*m)) out.push_back(m);
  };
  for (LayerWeights& l : w->layers) {
    for (WeightMatrix* m : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj,
                            &l.down_proj}) {
      add(m);
    }
  }
  // A tied lm_head is the embedding table too: repacked once, it serves
  // MatMul fast and GetRow gathers its rows back (RepackWeights keeps the
  // two views one matrix). In small models it is the largest matrix.
  add(&w->lm_head);
  return out;
}

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Drops the whole pages of [begin, begin + n) from this process, if the
// range lies inside one of the read-only file mappings (later reads would
// fault them back in from the file; nothing reads them again).
void ReleaseFilePages(const std::vector<const MappedFile*>& files, const uint8_t* begin, size_t n) {
  const bool in_a_file = std::any_of(files.begin(), files.end(), [&](const MappedFile* f) {
    return f != nullptr && begin >= f->data() && begin + n <= f->data() + f->size();
  });
  if (!in_a_file) return;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t lo = RoundUp(reinterpret_cast<uintptr_t>(begin), page);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(begin) + n) / page * page;
  if (lo < hi) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

}  // namespace

Status RepackWeights(ModelWeights* weights, const std::vector<const MappedFile*>& files) {
  std::vector<WeightMatrix*> todo = Candidates(weights);
  if (todo.empty()) return Status::Ok();
  const bool tied = weights->lm_head.data == weights->embed_tokens.data;
  // One arena for all of them, each matrix 64-byte aligned.
  size_t total = 0;
  for (const WeightMatrix* m : todo) total += RoundUp(m->rows * m->row_bytes, 64);
  StatusOr<std::shared_ptr<AnonymousMemory>> allocated = AnonymousMemory::Allocate(total);
  if (!allocated.ok()) return Internal("repacking weights: " + allocated.status().message());
  std::shared_ptr<AnonymousMemory> arena = std::move(*allocated);
  size_t offset = 0;
  for (WeightMatrix* m : todo) {
    const size_t bytes = m->rows * m->row_bytes;
    const uint8_t* source = m->data;
    *m = cpu::Repack(*m, arena->data() + offset);
    ReleaseFilePages(files, source, bytes);
    offset += RoundUp(bytes, 64);
  }
  if (tied) weights->embed_tokens = weights->lm_head;
  weights->owners.push_back(std::move(arena));
  return Status::Ok();
}

}  // namespace pagoda
