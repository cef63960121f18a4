// Prometheus text exposition of the engine's statistics for GET /metrics.
//
// Names follow vLLM's metrics with the `vllm:` prefix replaced by `pagoda:`
// (pagoda:num_requests_running, pagoda:kv_cache_usage_perc,
// pagoda:time_to_first_token_seconds, ...), each labelled with
// model_name, so vLLM dashboards work after a prefix rename. Pure function:
// thread-safe.
#pragma once

#include <string>

#include "engine/engine_client.h"

namespace pagoda {

inline constexpr const char* kMetricsPrefix = "pagoda:";

std::string RenderPrometheusMetrics(const EngineStats& stats, const std::string& model_name);

}  // namespace pagoda
