// EngineClient end to end on real and random-weight models: streaming
// equals offline generation, stop strings in streamed text, seeds
// independent of the batch, logprobs and prompt logprobs (with and without
// the prefix cache), n / best_of, min_tokens, validation, aborts that free
// every block, and many threads submitting and aborting at once.
#include "engine/engine_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "engine/llm_engine.h"
#include "model/random_model.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using testing::HaveSharedModel;
using testing::SharedModelPath;

constexpr const char* kStories = "stories260K/stories260K.gguf";

struct Options {
  bool prefix_caching = true;
  int budget = 2048;
  int64_t num_blocks = 256;
};

std::unique_ptr<LLMEngine> MakeEngine(const std::string& path, Options o = {}) {
  EngineConfig cfg;
  cfg.model.model = path;
  cfg.model.threads = 1;
  cfg.model.max_model_len = 256;
  cfg.cache.block_size = 16;
  cfg.cache.num_kv_blocks = o.num_blocks;
  cfg.cache.enable_prefix_caching = o.prefix_caching;
  cfg.scheduler.max_num_batched_tokens = o.budget;
  auto e = LLMEngine::Create(cfg);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(*e) : nullptr;
}

const std::string& RandomModelPath() {
  static const std::string path = [] {
    const std::string p = testing::MakeTempDir("pagoda-client-") + "/random.gguf";
    RandomModelSpec spec;
    spec.vocab_size = 300;
    spec.num_layers = 2;
    EXPECT_TRUE(WriteRandomGguf(spec, p).ok());
    return p;
  }();
  return path;
}

std::vector<int32_t> Prompt(int len, int salt, int vocab = 300) {
  std::vector<int32_t> p = {0};
  for (int j = 1; j < len; ++j) p.push_back((salt * 131 + j * 37) % (vocab - 3) + 3);
  return p;
}

// Everything one request streamed, merged per choice.
struct Collected {
  std::map<int, std::string> text;
  std::map<int, std::vector<int32_t>> tokens;
  std::map<int, std::vector<TokenLogprobs>> logprobs;
  std::map<int, CompletionDelta> last;  // each choice's final delta
  std::vector<std::string> deltas;      // choice 0's text deltas
  std::optional<std::vector<TokenLogprobs>> prompt_logprobs;
  int32_t num_cached_tokens = -1;
  int num_outputs = 0;
  int num_finished = 0;
};

Collected Drain(OutputStream& s) {
  Collected c;
  while (auto o = s.Next()) {
    ++c.num_outputs;
    if (o->prompt_logprobs) c.prompt_logprobs = o->prompt_logprobs;
    c.num_cached_tokens = o->num_cached_tokens;
    if (o->finished) ++c.num_finished;
    for (CompletionDelta& d : o->outputs) {
      if (d.index == 0) c.deltas.push_back(d.text);
      c.text[d.index] += d.text;
      c.tokens[d.index].insert(c.tokens[d.index].end(), d.token_ids.begin(), d.token_ids.end());
      c.logprobs[d.index].insert(c.logprobs[d.index].end(), d.logprobs.begin(), d.logprobs.end());
      if (d.finished) c.last[d.index] = d;
    }
  }
  return c;
}

Collected RunToEnd(EngineClient& client, GenerateRequest r) {
  auto s = client.Submit(std::move(r));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return {};
  return Drain(**s);
}

SamplingParams Greedy(int n) {
  SamplingParams sp;
  sp.temperature = 0;
  sp.max_tokens = n;
  sp.ignore_eos = true;
  return sp;
}

// Polls until the engine has no request and no KV block in use.
bool WaitIdle(EngineClient& client) {
  for (int i = 0; i < 2000; ++i) {
    EngineStats s = client.GetStats();
    if (s.num_running == 0 && s.num_waiting == 0 && s.kv_cache_usage == 0.0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

class StoriesClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveSharedModel(kStories)) GTEST_SKIP() << "needs " << SharedModelPath(kStories);
  }
  std::unique_ptr<EngineClient> Client(Options o = {}) {
    auto e = MakeEngine(SharedModelPath(kStories), o);
    return e ? std::make_unique<EngineClient>(std::move(e)) : nullptr;
  }
  std::vector<int32_t> Tokenize(EngineClient& c, const std::string& text) {
    std::vector<int32_t> ids = c.tokenizer().Encode(text, /*add_special=*/true);
    return ids;
  }
};

TEST_F(StoriesClientTest, StreamingEqualsOfflineGenerate) {
  auto offline = MakeEngine(SharedModelPath(kStories));
  auto gen = offline->Generate({"Once upon a time"}, Greedy(40));
  ASSERT_TRUE(gen.ok());
  auto client = Client();
  Collected c = RunToEnd(*client, {.request_id = "a", .prompt_token_ids = Tokenize(*client, "Once upon a time"),
                              .sampling_params = Greedy(40)});
  EXPECT_EQ(c.tokens[0], (*gen)[0].token_ids);
  // The streamed text continues the prompt: the first token keeps its space.
  EXPECT_EQ(c.text[0], client->tokenizer().DecodeAfter(Tokenize(*client, "Once upon a time"), c.tokens[0], {}));
  EXPECT_EQ(c.last[0].finish_reason, "length");
  EXPECT_EQ(c.num_finished, 1);
  EXPECT_TRUE(WaitIdle(*client));
}

TEST_F(StoriesClientTest, StopStringSpanningTokens) {
  auto client = Client();
  const std::vector<int32_t> prompt = Tokenize(*client, "Once upon a time");
  Collected full = RunToEnd(*client, {.request_id = "full", .prompt_token_ids = prompt, .sampling_params = Greedy(60)});
  const std::string& text = full.text[0];
  // A stop string that starts inside one token and ends in a later one:
  // the 6 characters from the middle of the text.
  ASSERT_GT(text.size(), 40u);
  const size_t at = text.size() / 2;
  const std::string stop = text.substr(at, 6);
  const size_t first = text.find(stop);
  SamplingParams sp = Greedy(60);
  sp.stop = {stop};
  Collected c = RunToEnd(*client, {.request_id = "stop", .prompt_token_ids = prompt, .sampling_params = sp});
  EXPECT_EQ(c.text[0], text.substr(0, first));
  EXPECT_EQ(c.last[0].finish_reason, "stop");
  EXPECT_EQ(std::get<std::string>(c.last[0].stop_reason), stop);
  std::string so_far;
  for (const std::string& d : c.deltas) {
    so_far += d;
    EXPECT_EQ(c.text[0].compare(0, so_far.size(), so_far), 0) << "streamed text later removed: " << so_far;
  }
  sp.include_stop_str_in_output = true;
  c = RunToEnd(*client, {.request_id = "stop2", .prompt_token_ids = prompt, .sampling_params = sp});
  EXPECT_EQ(c.text[0], text.substr(0, first + stop.size()));
  // The stop string aborted the request in the scheduler: nothing stays.
  EXPECT_TRUE(WaitIdle(*client));
}

TEST_F(StoriesClientTest, PromptLogprobsEqualWithAndWithoutPrefixCache) {
  auto cached = Client({.prefix_caching = true, .budget = 16});  // chunked prompt too
  auto uncached = Client({.prefix_caching = false});
  const std::vector<int32_t> prompt = Tokenize(*cached, "Once upon a time there was a little girl who liked to play in the park with her friends");
  ASSERT_GT(prompt.size(), 20u);
  // Warm the cache with the same prompt first.
  RunToEnd(*cached, {.request_id = "warm", .prompt_token_ids = prompt, .sampling_params = Greedy(2)});
  SamplingParams sp = Greedy(2);
  sp.prompt_logprobs = 3;
  Collected a = RunToEnd(*cached, {.request_id = "a", .prompt_token_ids = prompt, .sampling_params = sp});
  Collected b = RunToEnd(*uncached, {.request_id = "b", .prompt_token_ids = prompt, .sampling_params = sp});
  EXPECT_EQ(a.num_cached_tokens, 0);  // prompt_logprobs skips cache reads
  ASSERT_TRUE(a.prompt_logprobs && b.prompt_logprobs);
  ASSERT_EQ(a.prompt_logprobs->size(), prompt.size() - 1);
  ASSERT_EQ(b.prompt_logprobs->size(), prompt.size() - 1);
  for (size_t i = 0; i < a.prompt_logprobs->size(); ++i) {
    const TokenLogprobs& x = (*a.prompt_logprobs)[i];
    const TokenLogprobs& y = (*b.prompt_logprobs)[i];
    EXPECT_EQ(x.chosen.token_id, prompt[i + 1]);
    EXPECT_NEAR(x.chosen.logprob, y.chosen.logprob, 1e-5) << "position " << i + 1;
    EXPECT_EQ(x.chosen.rank, y.chosen.rank);
    ASSERT_EQ(x.top.size(), 3u);
    for (size_t k = 0; k < 3; ++k) EXPECT_EQ(x.top[k].token_id, y.top[k].token_id);
  }
  // A later request without prompt_logprobs does hit the cache.
  Collected c = RunToEnd(*cached, {.request_id = "c", .prompt_token_ids = prompt, .sampling_params = Greedy(2)});
  EXPECT_GT(c.num_cached_tokens, 0);
}

TEST_F(StoriesClientTest, GenerationLogprobsMatchPromptLogprobs) {
  auto client = Client();
  const std::vector<int32_t> prompt = Tokenize(*client, "One day, a little");
  SamplingParams sp = Greedy(8);
  sp.logprobs = 4;
  Collected g = RunToEnd(*client, {.request_id = "g", .prompt_token_ids = prompt, .sampling_params = sp});
  ASSERT_EQ(g.logprobs[0].size(), 8u);
  // Score prompt + output as a prompt: position by position the same values.
  std::vector<int32_t> scored = prompt;
  scored.insert(scored.end(), g.tokens[0].begin(), g.tokens[0].end());
  SamplingParams sp2 = Greedy(1);
  sp2.prompt_logprobs = 4;
  Collected p = RunToEnd(*client, {.request_id = "p", .prompt_token_ids = scored, .sampling_params = sp2});
  ASSERT_TRUE(p.prompt_logprobs.has_value());
  for (size_t i = 0; i < 8; ++i) {
    const TokenLogprobs& gen = g.logprobs[0][i];
    const TokenLogprobs& pr = (*p.prompt_logprobs)[prompt.size() - 1 + i];
    EXPECT_EQ(gen.chosen.token_id, g.tokens[0][i]);
    EXPECT_EQ(gen.chosen.rank, 1);  // greedy picks the top token
    EXPECT_EQ(gen.top[0].token_id, gen.chosen.token_id);
    EXPECT_EQ(pr.chosen.token_id, gen.chosen.token_id);
    EXPECT_NEAR(pr.chosen.logprob, gen.chosen.logprob, 1e-4) << "token " << i;
    double mass = 0;
    for (const LogprobEntry& e : gen.top) mass += std::exp(e.logprob);
    EXPECT_LE(mass, 1.0 + 1e-5);
    EXPECT_LE(gen.chosen.logprob, 0.0f);
  }
}

TEST_F(StoriesClientTest, ParallelSamplingAndBestOf) {
  auto client = Client();
  // 40 tokens: two full blocks the choices share through the prefix cache.
  std::vector<int32_t> prompt = Tokenize(*client, "Once upon a time there was a little dog named Max who loved to run and jump in the big green park every day");
  ASSERT_GE(prompt.size(), 33u);
  SamplingParams sp;
  sp.n = 3;
  sp.temperature = 1.0f;
  sp.seed = 5;
  sp.max_tokens = 12;
  sp.ignore_eos = true;
  Collected c = RunToEnd(*client, {.request_id = "n", .prompt_token_ids = prompt, .sampling_params = sp});
  ASSERT_EQ(c.tokens.size(), 3u);
  EXPECT_EQ(c.num_finished, 1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.tokens[i].size(), 12u);
    EXPECT_EQ(c.last[i].finish_reason, "length");
  }
  EXPECT_FALSE(c.tokens[0] == c.tokens[1] && c.tokens[1] == c.tokens[2]);
  EXPECT_GE(client->GetStats().prefix_cache_hits, 32);
  // Same seed: the same three choices again.
  Collected again = RunToEnd(*client, {.request_id = "n2", .prompt_token_ids = prompt, .sampling_params = sp});
  EXPECT_EQ(again.tokens, c.tokens);

  sp.n = 2;
  sp.best_of = 4;
  Collected b = RunToEnd(*client, {.request_id = "b", .prompt_token_ids = prompt, .sampling_params = sp});
  EXPECT_EQ(b.num_outputs, 1);  // best_of streams nothing: one final output
  ASSERT_EQ(b.last.size(), 2u);
  EXPECT_GE(b.last[0].cumulative_logprob, b.last[1].cumulative_logprob);
  // The winners are the two best of the four seeded children (seed + i).
  std::vector<double> cum;
  for (int i = 0; i < 4; ++i) {
    SamplingParams one = sp;
    one.n = 1;
    one.best_of.reset();
    one.seed = 5 + i;
    one.logprobs = 0;
    Collected x = RunToEnd(*client, {.request_id = "c" + std::to_string(i), .prompt_token_ids = prompt, .sampling_params = one});
    cum.push_back(x.last[0].cumulative_logprob);
  }
  std::sort(cum.rbegin(), cum.rend());
  EXPECT_NEAR(b.last[0].cumulative_logprob, cum[0], 1e-4);
  EXPECT_NEAR(b.last[1].cumulative_logprob, cum[1], 1e-4);
  EXPECT_TRUE(WaitIdle(*client));
}

TEST_F(StoriesClientTest, MinTokensHoldsOffStopTokens) {
  auto client = Client();
  const std::vector<int32_t> prompt = Tokenize(*client, "Once upon a time");
  Collected first = RunToEnd(*client, {.request_id = "f", .prompt_token_ids = prompt, .sampling_params = Greedy(1)});
  const int32_t t = first.tokens[0][0];
  SamplingParams sp = Greedy(20);
  sp.stop_token_ids = {t};
  Collected s = RunToEnd(*client, {.request_id = "s", .prompt_token_ids = prompt, .sampling_params = sp});
  EXPECT_EQ(s.tokens[0], std::vector<int32_t>{t});
  EXPECT_EQ(std::get<int32_t>(s.last[0].stop_reason), t);
  sp.min_tokens = 5;
  Collected m = RunToEnd(*client, {.request_id = "m", .prompt_token_ids = prompt, .sampling_params = sp});
  ASSERT_GE(m.tokens[0].size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_NE(m.tokens[0][i], t);
}

TEST_F(StoriesClientTest, ValidationErrors) {
  auto client = Client();
  const std::vector<int32_t> prompt = Tokenize(*client, "Hello");
  auto check = [&](GenerateRequest r, const std::string& needle) {
    auto s = client->Submit(std::move(r), [](RequestOutput) { FAIL() << "no output expected"; });
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  check({.request_id = "x", .prompt_token_ids = std::vector<int32_t>(256, 5)}, "max_model_len");
  SamplingParams sp;
  sp.max_tokens = 300;
  check({.request_id = "x", .prompt_token_ids = prompt, .sampling_params = sp}, "max_tokens");
  sp = {};
  sp.top_p = 0;
  check({.request_id = "x", .prompt_token_ids = prompt, .sampling_params = sp}, "top_p");
  sp = {};
  sp.n = 0;
  check({.request_id = "x", .prompt_token_ids = prompt, .sampling_params = sp}, "n must");
  sp = {};
  sp.logprobs = 99;
  check({.request_id = "x", .prompt_token_ids = prompt, .sampling_params = sp}, "logprobs");
  check({.request_id = "x", .prompt_token_ids = {}}, "empty");
  check({.request_id = "x", .prompt_token_ids = {1, 9999}}, "vocabulary");
  // A live id cannot be reused. The first output's callback holds the
  // output thread until the check is done, so "dup" cannot finish before.
  std::mutex mu;
  std::condition_variable cv;
  bool checked = false, finished = false;
  std::string finish;
  ASSERT_TRUE(client->Submit({.request_id = "dup", .prompt_token_ids = prompt, .sampling_params = Greedy(200)},
                             [&](RequestOutput o) {
                               std::unique_lock<std::mutex> lock(mu);
                               cv.wait(lock, [&] { return checked; });
                               if (o.finished) {
                                 finish = *o.outputs[0].finish_reason;
                                 finished = true;
                                 cv.notify_all();
                               }
                             }).ok());
  check({.request_id = "dup", .prompt_token_ids = prompt}, "already in use");
  client->Abort("dup");
  std::unique_lock<std::mutex> lock(mu);
  checked = true;
  cv.notify_all();
  cv.wait(lock, [&] { return finished; });
  EXPECT_TRUE(finish == "abort" || finish == "length") << finish;
}

TEST_F(StoriesClientTest, IdReusableRightAfterTheFinalOutput) {
  // A stop string ends the request on the output thread while the
  // scheduler still runs it; the id is reused at once, many times over.
  auto client = Client();
  const std::vector<int32_t> prompt = Tokenize(*client, "Once upon a time");
  SamplingParams sp = Greedy(50);
  sp.stop = {"."};
  Collected first = RunToEnd(*client, {.request_id = "same", .prompt_token_ids = prompt, .sampling_params = sp});
  ASSERT_EQ(first.last[0].finish_reason, "stop");
  for (int i = 0; i < 30; ++i) {
    Collected again = RunToEnd(*client, {.request_id = "same", .prompt_token_ids = prompt, .sampling_params = sp});
    EXPECT_EQ(again.text[0], first.text[0]);
    EXPECT_EQ(again.num_finished, 1);
  }
  EXPECT_TRUE(WaitIdle(*client));
}

TEST(EngineClientTest, SeedGivesTheSameOutputWhateverTheBatch) {
  auto solo = std::make_unique<EngineClient>(MakeEngine(RandomModelPath()));
  SamplingParams sp;
  sp.temperature = 0.9f;
  sp.top_p = 0.95f;
  sp.seed = 1234;
  sp.max_tokens = 24;
  sp.ignore_eos = true;
  sp.presence_penalty = 0.3f;
  const std::vector<int32_t> prompt = Prompt(21, 3);
  Collected alone = RunToEnd(*solo, {.request_id = "x", .prompt_token_ids = prompt, .sampling_params = sp});
  ASSERT_EQ(alone.tokens[0].size(), 24u);
  // Again, among other requests (seeded and not), with chunked prefill.
  auto busy = std::make_unique<EngineClient>(MakeEngine(RandomModelPath(), {.budget = 20}));
  std::vector<std::unique_ptr<OutputStream>> others;
  for (int i = 0; i < 6; ++i) {
    SamplingParams o = sp;
    if (i % 2) o.seed.reset();
    else o.seed = 99 + i;
    auto s = busy->Submit({.request_id = "o" + std::to_string(i), .prompt_token_ids = Prompt(5 + 7 * i, i), .sampling_params = o});
    ASSERT_TRUE(s.ok());
    others.push_back(std::move(*s));
  }
  Collected together = RunToEnd(*busy, {.request_id = "x", .prompt_token_ids = prompt, .sampling_params = sp});
  EXPECT_EQ(together.tokens[0], alone.tokens[0]);
  for (auto& s : others) Drain(*s);
}

TEST(EngineClientTest, AbortFreesBlocksAtOnce) {
  // A model slow enough (a few ms per token) that 200 tokens cannot finish
  // before the abort issued from the first output's callback lands.
  const std::string path = testing::MakeTempDir("pagoda-abort-") + "/slow.gguf";
  RandomModelSpec spec;
  spec.vocab_size = 300;
  spec.hidden_size = 256;
  spec.intermediate_size = 768;
  spec.num_layers = 4;
  ASSERT_TRUE(WriteRandomGguf(spec, path).ok());
  auto client = std::make_unique<EngineClient>(MakeEngine(path, {.prefix_caching = false}));
  std::atomic<int> outputs{0};
  std::atomic<bool> done{false};
  std::atomic<double> usage_while_running{-1.0};
  std::string finish;
  EngineClient* c = client.get();
  ASSERT_TRUE(c->Submit({.request_id = "long", .prompt_token_ids = Prompt(40, 1), .sampling_params = Greedy(200)},
                        [&, c](RequestOutput o) {
                          if (++outputs == 1) {
                            usage_while_running = c->GetStats().kv_cache_usage;
                            c->Abort("long");  // allowed from a callback
                          }
                          if (o.finished) {
                            finish = *o.outputs.back().finish_reason;
                            done = true;
                          }
                        }).ok());
  while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_GT(usage_while_running.load(), 0.0);
  EXPECT_EQ(finish, "abort");
  EXPECT_LT(outputs.load(), 100);
  EXPECT_TRUE(WaitIdle(*client));
  EXPECT_EQ(client->GetStats().requests_finished_abort, 1);
}

TEST(EngineClientTest, ManyThreadsSubmitAndAbort) {
  // A small KV cache so that preemption happens too.
  auto client = std::make_unique<EngineClient>(MakeEngine(RandomModelPath(), {.budget = 64, .num_blocks = 40}));
  constexpr int kThreads = 6, kPerThread = 12;
  std::mutex mu;
  std::map<std::string, int> finals, after_final;
  std::atomic<int> num_final{0};
  auto worker = [&](int t) {
    std::mt19937 rng(static_cast<uint32_t>(t));
    for (int i = 0; i < kPerThread; ++i) {
      const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
      SamplingParams sp;
      sp.temperature = (i % 3 == 0) ? 0.0f : 0.8f;
      sp.max_tokens = 4 + static_cast<int>(rng() % 40);
      sp.n = (i % 5 == 0) ? 2 : 1;
      if (i % 7 == 0) sp.stop = {"ab"};
      Status s = client->Submit(
          {.request_id = id, .prompt_token_ids = Prompt(1 + static_cast<int>(rng() % 60), t * 100 + i), .sampling_params = sp},
          [&, id](RequestOutput o) {
            std::lock_guard<std::mutex> lock(mu);
            if (finals.count(id)) ++after_final[id];
            if (o.finished) {
              ++finals[id];
              ++num_final;
            }
          });
      ASSERT_TRUE(s.ok()) << s.ToString();
      if (rng() % 3 == 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        client->Abort(id);
      }
      if (rng() % 4 == 0) client->Abort("unknown-" + id);  // harmless
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (std::thread& th : threads) th.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (num_final < kThreads * kPerThread && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(num_final.load(), kThreads * kPerThread) << "a request never got its final output";
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [id, n] : finals) EXPECT_EQ(n, 1) << id;
  EXPECT_TRUE(after_final.empty()) << "outputs after a final one";
  EXPECT_TRUE(WaitIdle(*client));
}

TEST(EngineClientTest, ShutdownEndsLiveRequests) {
  auto client = std::make_unique<EngineClient>(MakeEngine(RandomModelPath()));
  std::vector<std::unique_ptr<OutputStream>> streams;
  for (int i = 0; i < 4; ++i) {
    auto s = client->Submit({.request_id = std::to_string(i), .prompt_token_ids = Prompt(10, i), .sampling_params = Greedy(200)});
    ASSERT_TRUE(s.ok());
    streams.push_back(std::move(*s));
  }
  client->Shutdown();
  for (auto& s : streams) {
    Collected c = Drain(*s);
    EXPECT_EQ(c.num_finished, 1);
  }
  auto late = client->Submit({.request_id = "late", .prompt_token_ids = Prompt(3, 1)}, [](RequestOutput) {});
  EXPECT_EQ(late.code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace pagoda
