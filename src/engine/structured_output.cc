#include "engine/structured_output.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "guided/grammar_compiler.h"
#include "guided/grammar_matcher.h"
#include "guided/tokenizer_info.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {

namespace {

Constraint ToConstraint(const StructuredOutputSpec& spec) {
  const JsonSchemaOptions json{.any_whitespace = spec.any_whitespace, .strict = spec.strict};
  switch (spec.kind) {
    case StructuredOutputSpec::Kind::kJsonSchema: return Constraint::JsonSchema(spec.text, json);
    case StructuredOutputSpec::Kind::kJsonObject: return Constraint::JsonObject(json);
    case StructuredOutputSpec::Kind::kRegex: return Constraint::Regex(spec.text);
    case StructuredOutputSpec::Kind::kChoice: return Constraint::Choice(spec.choices);
    case StructuredOutputSpec::Kind::kGrammar: return Constraint::Gbnf(spec.text);
  }
  return Constraint::JsonObject(json);
}

}  // namespace

StructuredOutputManager::StructuredOutputManager(const Tokenizer& tokenizer, std::vector<int32_t> stop_token_ids,
                                                 int32_t mask_vocab_size)
    : tokenizer_(tokenizer), stop_token_ids_(std::move(stop_token_ids)), mask_vocab_size_(mask_vocab_size) {}

StructuredOutputManager::~StructuredOutputManager() {
  if (worker_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
}

void StructuredOutputManager::EnsureCompiler() const {
  // The token tables cost a vocabulary walk: built on first use only.
  std::call_once(init_once_, [&] {
    auto info = TokenizerInfo::Create(
        tokenizer_, {.stop_token_ids = stop_token_ids_,
                     .mask_vocab_size = std::max<int32_t>(mask_vocab_size_, tokenizer_.vocab_size())});
    if (!info.ok()) {
      init_status_ = info.status();
      return;
    }
    info_ = *info;
    compiler_ = std::make_unique<GrammarCompiler>(info_);
  });
}

StatusOr<std::shared_ptr<const CompiledGrammar>> StructuredOutputManager::Compile(
    const StructuredOutputSpec& spec) const {
  if (spec.kind == StructuredOutputSpec::Kind::kChoice && spec.choices.empty()) {
    return InvalidArgument("the choice list is empty");
  }
  EnsureCompiler();
  if (!init_status_.ok()) {
    return InvalidArgument("structured output is not available for this tokenizer: " +
                           std::string(init_status_.message()));
  }
  return compiler_->Compile(ToConstraint(spec));
}

void StructuredOutputManager::BeginStep(const SchedulerOutput& out) {
  for (const std::string& id : out.finished_req_ids) matchers_.erase(id);
  std::vector<Slot> work;
  for (const ScheduledRequest& r : out.scheduled) {
    const SamplingParams* sp = r.sampling_params;
    if (sp == nullptr || sp->compiled_grammar == nullptr) continue;
    auto it = matchers_.find(r.req_id);
    if (it == matchers_.end()) {
      State st;
      st.matcher = std::make_unique<GrammarMatcher>(sp->compiled_grammar);
      st.mask.assign(static_cast<size_t>(st.matcher->BitmaskWords()), 0);
      it = matchers_.emplace(r.req_id, std::move(st)).first;
    }
    it->second.mask_ready = false;
    if (r.needs_sample) work.push_back({it->second.matcher.get(), &it->second.mask});
  }
  if (work.empty()) return;
  for (const ScheduledRequest& r : out.scheduled) {
    auto it = matchers_.find(r.req_id);
    if (it != matchers_.end() && r.needs_sample) it->second.mask_ready = true;
  }
  if (!worker_.joinable()) worker_ = std::thread([this] { WorkerLoop(); });
  {
    std::lock_guard<std::mutex> lock(mu_);
    work_ = std::move(work);
    has_work_ = true;
    busy_ = true;
  }
  cv_.notify_all();
}

void StructuredOutputManager::FillLocked(std::unique_lock<std::mutex>& lock) {
  has_work_ = false;
  std::vector<Slot> work = std::move(work_);
  lock.unlock();
  const auto t0 = std::chrono::steady_clock::now();
  for (Slot& s : work) s.matcher->FillNextTokenBitmask(s.mask->data());
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  lock.lock();
  last_fill_seconds_ = dt;
  total_mask_seconds_ += dt;
  total_masks_ += static_cast<int64_t>(work.size());
  busy_ = false;
  cv_.notify_all();
}

void StructuredOutputManager::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || has_work_; });
    if (stop_) return;
    FillLocked(lock);
  }
}

void StructuredOutputManager::Join() {
  std::unique_lock<std::mutex> lock(mu_);
  // On a loaded machine the worker may not have been scheduled yet when the
  // forward pass ends: then the engine thread fills the masks itself rather
  // than wait for a time slice (they take microseconds).
  if (has_work_) FillLocked(lock);
  cv_.wait(lock, [&] { return !busy_; });
}

void StructuredOutputManager::ApplyMask(const std::string& req_id, float* logits, int64_t vocab_size) {
  auto it = matchers_.find(req_id);
  if (it == matchers_.end() || !it->second.mask_ready) return;
  Join();
  const std::vector<uint32_t>& mask = it->second.mask;
  const int64_t covered = std::min<int64_t>(vocab_size, static_cast<int64_t>(mask.size()) * 32);
  constexpr float kBanned = -std::numeric_limits<float>::infinity();
  for (int64_t w = 0; w * 32 < covered; ++w) {
    const uint32_t bits = mask[static_cast<size_t>(w)];
    if (bits == 0xffffffffu) continue;
    const int64_t end = std::min<int64_t>(covered, w * 32 + 32);
    for (int64_t id = w * 32; id < end; ++id) {
      if (!(bits >> (id & 31) & 1u)) logits[id] = kBanned;
    }
  }
  for (int64_t id = covered; id < vocab_size; ++id) logits[id] = kBanned;
}

void StructuredOutputManager::EndStep(const SchedulerOutput& out, ModelRunnerOutput* result) {
  if (matchers_.empty()) return;
  Join();  // a step whose hook never ran (no row sampled) still had a fill in flight
  // At most this many forced tokens per request and step, so one request's
  // long literal does not make a step's batch much larger.
  constexpr int32_t kMaxForced = 16;
  for (size_t i = 0; i < out.scheduled.size() && i < result->sampled_token_ids.size(); ++i) {
    auto it = matchers_.find(out.scheduled[i].req_id);
    if (it == matchers_.end()) continue;
    it->second.mask_ready = false;
    GrammarMatcher& m = *it->second.matcher;
    std::vector<int32_t>& tokens = result->sampled_token_ids[i];
    if (tokens.empty()) continue;
    for (int32_t token : tokens) {
      // The mask allowed only tokens the grammar accepts; a refusal means
      // the request ignored the mask (e.g. every token was banned), and the
      // matcher keeps its state.
      if (!m.IsTerminated()) m.AcceptToken(token);
    }
    const SamplingParams* sp = out.scheduled[i].sampling_params;
    if (!jump_forward_ || m.IsTerminated() || (sp != nullptr && sp->logprobs.has_value())) continue;
    for (int32_t token : m.FindForcedTokens(kMaxForced)) {
      if (!m.AcceptToken(token)) break;
      tokens.push_back(token);
      ++total_forced_tokens_;
      if (m.IsTerminated()) break;
    }
  }
}

}  // namespace pagoda
