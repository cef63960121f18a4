#include "engine/output_processor.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <unordered_set>
#include <utility>

#include "base/check.h"
#include "tokenizer/incremental_detokenizer.h"
#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

// Streaming text of one choice: the incremental detokenizer, primed with the
// prompt when the text continues it (so the first token keeps its leading
// space, as vLLM's completions do).
class TextDecoder {
 public:
  TextDecoder(const Tokenizer& tokenizer, std::span<const int32_t> context, bool skip_special)
      : detok_(tokenizer, context, DecodeOptions{.skip_special_tokens = skip_special}) {}
  std::string Add(std::span<const int32_t> ids) { return detok_.Add(ids); }
  std::string Finish() { return detok_.Finish(); }

 private:
  IncrementalDetokenizer detok_;
};

}  // namespace

std::vector<std::string> ChildRequestIds(const std::string& request_id, const SamplingParams& params) {
  const int count = NumSequences(params);
  if (count == 1) return {request_id};
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) ids.push_back(std::to_string(i) + "_" + request_id);
  return ids;
}

int NumSequences(const SamplingParams& params) { return params.best_of ? *params.best_of : params.n; }

SamplingParams ChildSamplingParams(const SamplingParams& params, int index, int count) {
  if (count == 1) return params;
  SamplingParams c = params;
  c.n = 1;
  c.best_of.reset();
  if (params.seed) c.seed = *params.seed + static_cast<uint64_t>(index);
  if (index != 0) c.prompt_logprobs.reset();
  if (params.best_of && *params.best_of > params.n && !c.logprobs) c.logprobs = 0;
  return c;
}

struct OutputProcessor::Child {
  std::string id;
  int index = 0;
  std::unique_ptr<TextDecoder> decoder;
  std::string text;        // decoded so far (cut at the stop string once finished)
  size_t emitted = 0;      // bytes of text delivered
  std::vector<int32_t> pending_ids;
  std::vector<TokenLogprobs> pending_logprobs;
  size_t num_tokens = 0;
  double cumulative_logprob = 0.0;
  bool has_output = false;
  bool finished = false;
  bool final_delivered = false;
  std::optional<std::string> finish_reason;
  std::variant<std::monostate, std::string, int32_t> stop_reason;
  double last_token_time = -1.0;
};

struct OutputProcessor::Parent {
  RequestSpec spec;
  std::vector<Child> children;
  bool best_of_mode = false;   // buffer, then the n best
  bool show_logprobs = false;
  bool started = false;        // child 0 has output: the others may stream
  bool prompt_sent = false;
  bool ttft_observed = false;
  int32_t num_cached_tokens = 0;
  std::optional<std::vector<TokenLogprobs>> prompt_logprobs;
  size_t max_stop_len = 0;
};

OutputProcessor::OutputProcessor(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

OutputProcessor::~OutputProcessor() = default;

void OutputProcessor::AddRequest(RequestSpec spec) {
  CHECK(!spec.child_ids.empty());
  CHECK(requests_.find(spec.request_id) == requests_.end()) << "duplicate request " << spec.request_id;
  auto p = std::make_unique<Parent>();
  const SamplingParams& sp = spec.params;
  p->best_of_mode = sp.best_of && *sp.best_of > sp.n;
  p->show_logprobs = sp.logprobs.has_value();
  for (const std::string& s : sp.stop) p->max_stop_len = std::max(p->max_stop_len, s.size());
  p->children.resize(spec.child_ids.size());
  for (size_t i = 0; i < spec.child_ids.size(); ++i) {
    Child& c = p->children[i];
    c.id = spec.child_ids[i];
    c.index = static_cast<int>(i);
    const std::span<const int32_t> context =
        spec.decode_after_prompt ? std::span<const int32_t>(spec.prompt_token_ids) : std::span<const int32_t>();
    c.decoder = std::make_unique<TextDecoder>(tokenizer_, context, sp.skip_special_tokens);
    child_to_parent_[c.id] = spec.request_id;
  }
  p->spec = std::move(spec);
  requests_.emplace(p->spec.request_id, std::move(p));
}

void OutputProcessor::RemoveRequest(const std::string& request_id) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  for (const Child& c : it->second->children) child_to_parent_.erase(c.id);
  requests_.erase(it);
}

OutputProcessor::Child* OutputProcessor::FindChild(const std::string& child_id, Parent** parent) {
  auto it = child_to_parent_.find(child_id);
  if (it == child_to_parent_.end()) return nullptr;
  Parent* p = requests_.at(it->second).get();
  for (Child& c : p->children) {
    if (c.id == child_id) {
      *parent = p;
      return &c;
    }
  }
  return nullptr;
}

const std::string& OutputProcessor::TokenText(int32_t id) {
  auto it = token_text_.find(id);
  if (it != token_text_.end()) return it->second;
  // The token's own bytes as they read mid-text (leading space kept),
  // made valid UTF-8: a byte token alone is U+FFFD.
  std::string bytes;
  DecodeState state{.started = true};
  tokenizer_.AppendTokenBytes(id, DecodeOptions{.skip_special_tokens = false}, &state, &bytes);
  std::string text;
  AppendUtf8Lossy(bytes, /*final=*/true, &text);
  return token_text_.emplace(id, std::move(text)).first->second;
}

LogprobEntry OutputProcessor::Entry(const TokenLogprob& lp) {
  return LogprobEntry{lp.token_id, lp.logprob, lp.rank, TokenText(lp.token_id)};
}

void OutputProcessor::Finish(Parent& p, Child& c, const std::string& reason, double now) {
  (void)p;
  (void)now;
  c.finished = true;
  c.finish_reason = reason;
  if (reason == "stop") ++stats_.requests_finished_stop;
  else if (reason == "length") ++stats_.requests_finished_length;
  else ++stats_.requests_finished_abort;
}

void OutputProcessor::Update(Parent& p, Child& c, const EngineCoreOutput& out, double now) {
  if (c.finished) return;  // tokens after a stop string, before the abort landed
  const SamplingParams& sp = p.spec.params;
  if (!c.has_output) {
    c.has_output = true;
    if (c.index == 0) {
      p.num_cached_tokens = out.num_cached_tokens;
      stats_.prompt_tokens_total += static_cast<int64_t>(p.spec.prompt_token_ids.size());
      if (sp.prompt_logprobs) {
        std::vector<TokenLogprobs> v;
        for (const PositionLogprobs& pl : out.prompt_logprobs) {
          TokenLogprobs t{Entry(pl.chosen), {}};
          for (const TokenLogprob& lp : pl.top) t.top.push_back(Entry(lp));
          v.push_back(std::move(t));
        }
        p.prompt_logprobs = std::move(v);
      }
    }
  }
  if (!out.new_token_ids.empty()) {
    if (c.last_token_time >= 0) stats_.inter_token_latency_s.Observe(now - c.last_token_time);
    c.last_token_time = now;
    stats_.generation_tokens_total += static_cast<int64_t>(out.new_token_ids.size());
  }
  for (size_t i = 0; i < out.new_token_ids.size(); ++i) {
    c.pending_ids.push_back(out.new_token_ids[i]);
    if (i < out.new_logprobs.size()) {
      const PositionLogprobs& pl = out.new_logprobs[i];
      c.cumulative_logprob += pl.chosen.logprob;
      if (p.show_logprobs) {
        TokenLogprobs t{Entry(pl.chosen), {}};
        for (const TokenLogprob& lp : pl.top) t.top.push_back(Entry(lp));
        c.pending_logprobs.push_back(std::move(t));
      }
    }
  }
  c.num_tokens += out.new_token_ids.size();

  // A token stop (EOS, stop_token_ids) contributes no text of its own.
  const bool token_stop = out.finish_reason == FinishReason::kStop;
  std::span<const int32_t> decode_ids(out.new_token_ids);
  if (token_stop && !sp.include_stop_str_in_output && !decode_ids.empty()) {
    decode_ids = decode_ids.first(decode_ids.size() - 1);
  }
  const size_t old_len = c.text.size();
  c.text += c.decoder->Add(decode_ids);
  if (out.finish_reason) c.text += c.decoder->Finish();

  if (!sp.stop.empty() && c.num_tokens > static_cast<size_t>(sp.min_tokens)) {
    // Earliest match that ends in the new text; ties: the first listed.
    size_t best = std::string::npos;
    const std::string* which = nullptr;
    for (const std::string& s : sp.stop) {
      const size_t from = old_len + 1 >= s.size() ? old_len + 1 - s.size() : 0;
      const size_t pos = c.text.find(s, from);
      if (pos != std::string::npos && pos < best) {
        best = pos;
        which = &s;
      }
    }
    if (which != nullptr) {
      c.text.resize(sp.include_stop_str_in_output ? best + which->size() : best);
      c.emitted = std::min(c.emitted, c.text.size());
      c.stop_reason = *which;
      Finish(p, c, "stop", now);
      return;
    }
  }
  if (out.finish_reason) {
    if (out.stop_token_id) c.stop_reason = *out.stop_token_id;
    Finish(p, c, FinishReasonName(*out.finish_reason), now);
  }
}

namespace {

// Bytes at the end of `text` that may still begin one of `stops`: the
// longest proper prefix of a stop string that `text` ends with.
size_t Holdback(const std::string& text, const std::vector<std::string>& stops, size_t max_stop_len) {
  const size_t limit = std::min(text.size(), max_stop_len == 0 ? 0 : max_stop_len - 1);
  for (size_t k = limit; k > 0; --k) {
    for (const std::string& s : stops) {
      if (s.size() > k && text.compare(text.size() - k, k, s, 0, k) == 0) return k;
    }
  }
  return 0;
}

}  // namespace

void OutputProcessor::Deliver(const std::string& request_id, double now, Result* result) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  Parent& p = *it->second;
  const SamplingParams& sp = p.spec.params;
  if (!p.started) {
    if (!p.children[0].has_output && !p.children[0].finished) return;
    p.started = true;
  }
  RequestOutput ro;
  ro.request_id = request_id;
  ro.num_prompt_tokens = static_cast<int32_t>(p.spec.prompt_token_ids.size());
  ro.num_cached_tokens = p.num_cached_tokens;

  auto make_delta = [&](Child& c, size_t upto, int index) {
    CompletionDelta d;
    d.index = index;
    d.text = c.text.substr(c.emitted, upto - c.emitted);
    d.token_ids = std::move(c.pending_ids);
    d.logprobs = std::move(c.pending_logprobs);
    c.pending_ids.clear();
    c.pending_logprobs.clear();
    d.cumulative_logprob = c.cumulative_logprob;
    c.emitted = upto;
    if (c.finished) {
      d.finished = true;
      d.finish_reason = c.finish_reason;
      d.stop_reason = c.stop_reason;
      c.final_delivered = true;
    }
    return d;
  };

  if (p.best_of_mode) {
    for (const Child& c : p.children) {
      if (!c.finished) return;
    }
    std::vector<size_t> order(p.children.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return p.children[a].cumulative_logprob > p.children[b].cumulative_logprob;
    });
    for (int k = 0; k < sp.n; ++k) {
      Child& c = p.children[order[static_cast<size_t>(k)]];
      ro.outputs.push_back(make_delta(c, c.text.size(), k));
      if (!p.show_logprobs) ro.outputs.back().logprobs.clear();
    }
    for (Child& c : p.children) c.final_delivered = true;
  } else {
    for (Child& c : p.children) {
      if (c.final_delivered) continue;
      size_t decided = c.text.size();
      if (!c.finished && !sp.include_stop_str_in_output) decided -= Holdback(c.text, sp.stop, p.max_stop_len);
      decided = std::max(decided, c.emitted);
      if (decided == c.emitted && c.pending_ids.empty() && !c.finished) continue;
      ro.outputs.push_back(make_delta(c, decided, c.index));
    }
    if (ro.outputs.empty()) return;
  }
  ro.finished = std::all_of(p.children.begin(), p.children.end(),
                            [](const Child& c) { return c.final_delivered; });
  if (!p.prompt_sent) {
    p.prompt_sent = true;
    ro.prompt_token_ids = p.spec.prompt_token_ids;
    ro.prompt_logprobs = std::move(p.prompt_logprobs);
  }
  const bool has_tokens = std::any_of(ro.outputs.begin(), ro.outputs.end(),
                                      [](const CompletionDelta& d) { return !d.token_ids.empty(); });
  if (has_tokens && !p.ttft_observed) {
    p.ttft_observed = true;
    stats_.time_to_first_token_s.Observe(now - p.spec.arrival_time);
  }
  result->outputs.push_back(std::move(ro));
  if (result->outputs.back().finished) {
    stats_.e2e_request_latency_s.Observe(now - p.spec.arrival_time);
    result->finished_ids.push_back(request_id);
    RemoveRequest(request_id);
  }
}

void OutputProcessor::Process(std::span<const EngineCoreOutput> outputs, double now, Result* result) {
  std::vector<std::string> touched;
  std::unordered_set<std::string> seen;
  for (const EngineCoreOutput& out : outputs) {
    Parent* p = nullptr;
    Child* c = FindChild(out.req_id, &p);
    if (c == nullptr) continue;
    const bool was_finished = c->finished;
    Update(*p, *c, out, now);
    // Finished here by a stop string while the scheduler still runs it.
    if (!was_finished && c->finished && !out.finish_reason) result->stop_aborts.push_back(c->id);
    if (seen.insert(p->spec.request_id).second) touched.push_back(p->spec.request_id);
  }
  for (const std::string& id : touched) Deliver(id, now, result);
}

void OutputProcessor::Abort(std::span<const std::string> child_ids, double now, Result* result) {
  std::vector<std::string> touched;
  std::unordered_set<std::string> seen;
  for (const std::string& id : child_ids) {
    Parent* p = nullptr;
    Child* c = FindChild(id, &p);
    if (c == nullptr || c->finished) continue;
    c->text += c->decoder->Finish();
    Finish(*p, *c, "abort", now);
    if (seen.insert(p->spec.request_id).second) touched.push_back(p->spec.request_id);
  }
  for (const std::string& id : touched) Deliver(id, now, result);
}

void OutputProcessor::AddStats(EngineStats* s) const {
  s->prompt_tokens_total += stats_.prompt_tokens_total;
  s->generation_tokens_total += stats_.generation_tokens_total;
  s->requests_finished_stop += stats_.requests_finished_stop;
  s->requests_finished_length += stats_.requests_finished_length;
  s->requests_finished_abort += stats_.requests_finished_abort;
  s->time_to_first_token_s = stats_.time_to_first_token_s;
  s->inter_token_latency_s = stats_.inter_token_latency_s;
  s->e2e_request_latency_s = stats_.e2e_request_latency_s;
}

}  // namespace pagoda
