#include "server/metrics.h"

#include <cmath>
#include <cstdio>

namespace pagoda {

namespace {

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string EscapeLabel(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class Writer {
 public:
  explicit Writer(const std::string& model_name) : labels_("model_name=\"" + EscapeLabel(model_name) + "\"") {}

  void Header(const std::string& name, const char* type, const char* help) {
    out_ += "# HELP " + std::string(kMetricsPrefix) + name + " " + help + "\n";
    out_ += "# TYPE " + std::string(kMetricsPrefix) + name + " " + type + "\n";
  }
  void Sample(const std::string& name, double value, const std::string& extra_labels = "") {
    out_ += std::string(kMetricsPrefix) + name + "{" + labels_ + extra_labels + "} " + Number(value) + "\n";
  }
  void Gauge(const std::string& name, const char* help, double value) {
    Header(name, "gauge", help);
    Sample(name, value);
  }
  void Counter(const std::string& name, const char* help, double value) {
    Header(name, "counter", help);
    Sample(name + "_total", value);
  }
  void Hist(const std::string& name, const char* help, const Histogram& h) {
    Header(name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      const std::string le = i < h.bounds.size() ? Number(h.bounds[i]) : "+Inf";
      Sample(name + "_bucket", static_cast<double>(cumulative), ",le=\"" + le + "\"");
    }
    if (h.counts.empty()) Sample(name + "_bucket", 0, ",le=\"+Inf\"");
    Sample(name + "_sum", h.sum);
    Sample(name + "_count", static_cast<double>(h.count));
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string labels_;
  std::string out_;
};

}  // namespace

std::string RenderPrometheusMetrics(const EngineStats& s, const std::string& model_name) {
  Writer w(model_name);
  w.Gauge("num_requests_running", "Number of requests in model execution batches.", s.num_running);
  w.Gauge("num_requests_waiting", "Number of requests waiting to be processed.", s.num_waiting);
  w.Gauge("kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", s.kv_cache_usage);
  w.Counter("prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.",
            static_cast<double>(s.prefix_cache_queries));
  w.Counter("prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.",
            static_cast<double>(s.prefix_cache_hits));
  w.Counter("prompt_tokens", "Number of prefill tokens processed.", static_cast<double>(s.prompt_tokens_total));
  w.Counter("generation_tokens", "Number of generation tokens processed.",
            static_cast<double>(s.generation_tokens_total));
  w.Counter("num_preemptions", "Cumulative number of preemptions from the engine.",
            static_cast<double>(s.num_preemptions_total));
  w.Header("request_success", "counter", "Count of successfully processed requests.");
  w.Sample("request_success_total", static_cast<double>(s.requests_finished_stop), ",finished_reason=\"stop\"");
  w.Sample("request_success_total", static_cast<double>(s.requests_finished_length), ",finished_reason=\"length\"");
  w.Sample("request_success_total", static_cast<double>(s.requests_finished_abort), ",finished_reason=\"abort\"");
  w.Hist("time_to_first_token_seconds", "Histogram of time to first token in seconds.", s.time_to_first_token_s);
  w.Hist("inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", s.inter_token_latency_s);
  w.Hist("e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", s.e2e_request_latency_s);
  return w.Take();
}

}  // namespace pagoda
