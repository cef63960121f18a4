// `pagoda bench serve`: a load generator against any OpenAI-compatible
// server, as `vllm bench serve`: random or prefix-sharing prompts sent at a
// request rate (inf, or Poisson arrivals) with a concurrency cap, every
// response streamed so TTFT, TPOT, ITL and end-to-end latency can be
// measured; prints vLLM's result table. One thread runs all requests as
// Asio coroutines, so thousands in flight cost no threads.
//
// Prompts are token id lists (what /v1/completions accepts on any server),
// drawn from [10, --random-vocab-size); the chat endpoint gets words.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <utility>  // before Boost: 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace pagoda {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct BenchServeArgs {
  std::string base_url;
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string model;
  std::string endpoint = "/v1/completions";
  std::string dataset_name = "random";
  int random_input_len = 128;
  int random_output_len = 64;
  int prefix_len = 256;
  int random_vocab_size = 500;
  double request_rate = 0;  // 0 = inf
  std::string request_rate_str = "inf";
  int max_concurrency = 0;
  int num_prompts = 100;
  uint64_t seed = 0;
  bool ignore_eos = false;
  std::string api_key;
};

struct RequestResult {
  bool ok = false;
  std::string error;
  int64_t prompt_tokens = 0;
  int64_t output_tokens = 0;
  double ttft = 0, e2e = 0;
  std::vector<double> itl;
};

struct Target {
  std::string host;
  std::string port;
  std::string path_prefix;  // from --base-url, e.g. "" or "/api"
};

// Splits "http://host:port/prefix".
bool ParseBaseUrl(const std::string& url, Target* t) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos) return false;  // https is not supported
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  t->path_prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!t->path_prefix.empty() && t->path_prefix.back() == '/') t->path_prefix.pop_back();
  size_t colon = hostport.rfind(':');
  t->host = hostport.substr(0, colon);
  t->port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  return !t->host.empty();
}

net::awaitable<RequestResult> SendOne(Target target, std::string path, std::string body, std::string api_key) {
  RequestResult result;
  auto executor = co_await net::this_coro::executor;
  const Clock::time_point start = Clock::now();
  try {
    tcp::resolver resolver(executor);
    beast::tcp_stream stream(executor);
    auto endpoints = co_await resolver.async_resolve(target.host, target.port, net::use_awaitable);
    co_await stream.async_connect(endpoints, net::use_awaitable);
    stream.socket().set_option(tcp::no_delay(true));
    http::request<http::string_body> req{http::verb::post, target.path_prefix + path, 11};
    req.set(http::field::host, target.host);
    req.set(http::field::content_type, "application/json");
    if (!api_key.empty()) req.set(http::field::authorization, "Bearer " + api_key);
    req.body() = std::move(body);
    req.prepare_payload();
    co_await http::async_write(stream, req, net::use_awaitable);

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    co_await http::async_read_header(stream, buffer, parser, net::use_awaitable);
    const int status = parser.get().result_int();
    std::string pending;  // SSE bytes not yet split into events
    std::string error_body;
    Clock::time_point last{};
    bool got_first = false;
    int64_t content_chunks = 0;
    char chunk[16384];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof(chunk);
      beast::error_code ec;
      co_await http::async_read_some(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
      if (ec && ec != http::error::need_buffer) throw beast::system_error(ec);
      const size_t n = sizeof(chunk) - parser.get().body().size;
      if (status != 200) {
        error_body.append(chunk, n);
        continue;
      }
      pending.append(chunk, n);
      size_t end;
      while ((end = pending.find("\n\n")) != std::string::npos) {
        std::string event = pending.substr(0, end);
        pending.erase(0, end + 2);
        if (event.rfind("data: ", 0) != 0) continue;
        std::string data = event.substr(6);
        if (data == "[DONE]") continue;
        json j = json::parse(data, nullptr, false);
        if (j.is_discarded()) continue;
        if (j.contains("usage") && j["usage"].is_object()) {
          result.prompt_tokens = j["usage"].value("prompt_tokens", int64_t{0});
          result.output_tokens = j["usage"].value("completion_tokens", int64_t{0});
        }
        if (j.contains("error")) result.error = j["error"].value("message", "error event");
        if (!j.contains("choices") || j["choices"].empty()) continue;
        const json& c = j["choices"][0];
        std::string text;
        if (c.contains("text") && c["text"].is_string()) text = c["text"];
        if (c.contains("delta") && c["delta"].contains("content") && c["delta"]["content"].is_string()) {
          text = c["delta"]["content"];
        }
        if (text.empty()) continue;
        const Clock::time_point now = Clock::now();
        if (!got_first) {
          got_first = true;
          result.ttft = std::chrono::duration<double>(now - start).count();
        } else {
          result.itl.push_back(std::chrono::duration<double>(now - last).count());
        }
        last = now;
        ++content_chunks;
      }
    }
    result.e2e = std::chrono::duration<double>(Clock::now() - start).count();
    if (status != 200) {
      result.error = "HTTP " + std::to_string(status) + ": " + error_body.substr(0, 200);
    } else if (result.error.empty()) {
      result.ok = true;
      if (result.output_tokens == 0) result.output_tokens = content_chunks;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  co_return result;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

void PrintStat(const char* title, const char* name, const std::vector<double>& seconds) {
  std::printf("%s\n", title);
  std::printf("%-40s %-10.2f\n", (std::string("Mean ") + name + " (ms):").c_str(), Mean(seconds) * 1000);
  std::printf("%-40s %-10.2f\n", (std::string("Median ") + name + " (ms):").c_str(), Percentile(seconds, 50) * 1000);
  std::printf("%-40s %-10.2f\n", (std::string("P99 ") + name + " (ms):").c_str(), Percentile(seconds, 99) * 1000);
}

// The first model the server lists (GET /v1/models), for --model's default.
std::string DiscoverModel(const Target& target, const std::string& api_key) {
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.connect(resolver.resolve(target.host, target.port));
    http::request<http::empty_body> req{http::verb::get, target.path_prefix + "/v1/models", 11};
    req.set(http::field::host, target.host);
    if (!api_key.empty()) req.set(http::field::authorization, "Bearer " + api_key);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    json j = json::parse(res.body(), nullptr, false);
    if (!j.is_discarded() && j.contains("data") && !j["data"].empty()) return j["data"][0].value("id", "");
  } catch (const std::exception&) {
  }
  return "";
}

}  // namespace

CommandRun AddBenchServeCommand(CLI::App& app) {
  auto a = std::make_shared<BenchServeArgs>();
  app.add_option("--base-url", a->base_url, "Server URL, e.g. http://127.0.0.1:8000 (overrides --host/--port)");
  app.add_option("--host", a->host, "Server host");
  app.add_option("--port", a->port, "Server port");
  app.add_option("--model", a->model, "Model name to send (default: the server's first model)");
  app.add_option("--endpoint", a->endpoint, "/v1/completions or /v1/chat/completions");
  app.add_option("--dataset-name", a->dataset_name, "random, or prefix (prompts share a prefix)")
      ->check(CLI::IsMember({"random", "prefix"}));
  app.add_option("--random-input-len", a->random_input_len, "Prompt tokens per request (after any prefix)");
  app.add_option("--random-output-len", a->random_output_len, "max_tokens per request");
  app.add_option("--prefix-len", a->prefix_len, "Shared prefix tokens (dataset 'prefix')");
  app.add_option("--random-vocab-size", a->random_vocab_size, "Prompt token ids are drawn below this");
  app.add_option("--request-rate", a->request_rate_str, "Requests per second (Poisson arrivals), or inf");
  app.add_option("--max-concurrency", a->max_concurrency, "Most requests in flight (0: no cap)");
  app.add_option("--num-prompts", a->num_prompts, "Requests to send")->check(CLI::PositiveNumber);
  app.add_option("--seed", a->seed, "Seed for prompts and arrival times");
  app.add_flag("--ignore-eos", a->ignore_eos, "Ask for exactly --random-output-len tokens");
  app.add_option("--api-key", a->api_key, "Sent as 'Authorization: Bearer <key>'");
  return [a]() -> int {
    Target target;
    if (!a->base_url.empty()) {
      if (!ParseBaseUrl(a->base_url, &target)) {
        std::fprintf(stderr, "pagoda bench serve: cannot use --base-url %s (http:// only)\n", a->base_url.c_str());
        return 2;
      }
    } else {
      target = {a->host, std::to_string(a->port), ""};
    }
    if (a->request_rate_str != "inf") {
      a->request_rate = std::atof(a->request_rate_str.c_str());
      if (a->request_rate <= 0) {
        std::fprintf(stderr, "pagoda bench serve: --request-rate must be positive or inf\n");
        return 2;
      }
    }
    if (a->model.empty()) a->model = DiscoverModel(target, a->api_key);
    const bool chat = a->endpoint.find("chat") != std::string::npos;

    // Prompts and arrival times, from one seeded generator.
    std::mt19937_64 rng(a->seed);
    std::uniform_int_distribution<int> token(10, std::max(11, a->random_vocab_size - 1));
    std::vector<int> prefix;
    if (a->dataset_name == "prefix") {
      for (int i = 0; i < a->prefix_len; ++i) prefix.push_back(token(rng));
    }
    std::vector<std::string> bodies;
    for (int i = 0; i < a->num_prompts; ++i) {
      std::vector<int> ids = prefix;
      for (int t = 0; t < a->random_input_len; ++t) ids.push_back(token(rng));
      json body = {{"max_tokens", a->random_output_len},
                   {"stream", true},
                   {"stream_options", {{"include_usage", true}}},
                   {"temperature", 0}};
      if (!a->model.empty()) body["model"] = a->model;
      if (a->ignore_eos) body["ignore_eos"] = true;
      if (chat) {
        std::string text;
        for (int id : ids) text += "w" + std::to_string(id) + " ";
        body["messages"] = json::array({{{"role", "user"}, {"content", text}}});
      } else {
        body["prompt"] = ids;
      }
      bodies.push_back(body.dump());
    }
    std::vector<double> arrivals(a->num_prompts, 0.0);
    if (a->request_rate > 0) {
      std::exponential_distribution<double> gap(a->request_rate);
      double t = 0;
      for (double& at : arrivals) at = (t += gap(rng));
    }

    std::printf("pagoda bench serve: %d prompts to %s:%s%s%s, request rate %s, max concurrency %s\n",
                a->num_prompts, target.host.c_str(), target.port.c_str(), target.path_prefix.c_str(),
                a->endpoint.c_str(), a->request_rate_str.c_str(),
                a->max_concurrency > 0 ? std::to_string(a->max_concurrency).c_str() : "none");
    std::fflush(stdout);

    net::io_context ioc;
    std::vector<RequestResult> results(a->num_prompts);
    int in_flight = 0;
    const Clock::time_point bench_start = Clock::now();
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
          auto executor = co_await net::this_coro::executor;
          net::steady_timer timer(executor);
          for (int i = 0; i < a->num_prompts; ++i) {
            const auto due = bench_start + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(arrivals[i]));
            if (Clock::now() < due) {
              timer.expires_at(due);
              co_await timer.async_wait(net::use_awaitable);
            }
            while (a->max_concurrency > 0 && in_flight >= a->max_concurrency) {
              timer.expires_after(std::chrono::milliseconds(1));
              co_await timer.async_wait(net::use_awaitable);
            }
            ++in_flight;
            net::co_spawn(
                executor,
                [&, i]() -> net::awaitable<void> {
                  results[i] = co_await SendOne(target, a->endpoint, bodies[i], a->api_key);
                  --in_flight;
                },
                net::detached);
          }
        },
        net::detached);
    ioc.run();
    const double duration = std::chrono::duration<double>(Clock::now() - bench_start).count();

    int ok = 0;
    int64_t input_tokens = 0, output_tokens = 0;
    std::vector<double> ttft, tpot, itl, e2e;
    std::string first_error;
    for (const RequestResult& r : results) {
      if (!r.ok) {
        if (first_error.empty()) first_error = r.error;
        continue;
      }
      ++ok;
      input_tokens += r.prompt_tokens;
      output_tokens += r.output_tokens;
      ttft.push_back(r.ttft);
      e2e.push_back(r.e2e);
      if (r.output_tokens > 1) tpot.push_back((r.e2e - r.ttft) / static_cast<double>(r.output_tokens - 1));
      itl.insert(itl.end(), r.itl.begin(), r.itl.end());
    }
    std::printf("============ Serving Benchmark Result ============\n");
    std::printf("%-40s %-10d\n", "Successful requests:", ok);
    std::printf("%-40s %-10d\n", "Failed requests:", a->num_prompts - ok);
    std::printf("%-40s %-10.2f\n", "Benchmark duration (s):", duration);
    std::printf("%-40s %-10lld\n", "Total input tokens:", static_cast<long long>(input_tokens));
    std::printf("%-40s %-10lld\n", "Total generated tokens:", static_cast<long long>(output_tokens));
    std::printf("%-40s %-10.2f\n", "Request throughput (req/s):", ok / duration);
    std::printf("%-40s %-10.2f\n", "Output token throughput (tok/s):", output_tokens / duration);
    std::printf("%-40s %-10.2f\n", "Total token throughput (tok/s):", (input_tokens + output_tokens) / duration);
    PrintStat("---------------Time to First Token----------------", "TTFT", ttft);
    PrintStat("-----Time per Output Token (excl. 1st token)------", "TPOT", tpot);
    PrintStat("---------------Inter-token Latency----------------", "ITL", itl);
    PrintStat("----------------End-to-end Latency----------------", "E2EL", e2e);
    std::printf("==================================================\n");
    if (!first_error.empty()) std::fprintf(stderr, "pagoda bench serve: first failure: %s\n", first_error.c_str());
    return ok == a->num_prompts ? 0 : 1;
  };
}

}  // namespace pagoda
