// Prometheus metrics of the HTTP service: requests by route, method and status, a latency
// histogram by route, open connections, model requests, admission refusals, and the usage
// writer's counters. Rendered in the text exposition format.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/scheduler/runner.h"

namespace socle::tenancy {
struct UsageWriterCounters;
}

namespace socle::api {

// One runner's state at scrape time (socle_engine_* series, labelled by model).
struct RunnerScrape {
  std::string model;
  engine::scheduler::RunnerStats stats;
};

// The values of socle_admission_refusals_total's `reason` label.
inline constexpr std::string_view ADMISSION_REASON_NO_ACCESS = "no_access";  // a limit of 0
inline constexpr std::string_view ADMISSION_REASON_TOO_LARGE = "too_large";  // reservation alone
inline constexpr std::string_view ADMISSION_REASON_RATE_LIMITED = "rate_limited";  // full counter

class HttpMetrics {
 public:
  HttpMetrics();
  ~HttpMetrics();
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  // `route` is the matched pattern, or "unmatched": never the raw path (unbounded labels).
  void observe(std::string_view route, std::string_view method, int status, double seconds);
  // One model request: counts by model, provider and status, tokens by model, latency and
  // time to first token by model.
  void observe_model(std::string_view model, std::string_view provider, int status,
                     int64_t prompt_tokens, int64_t completion_tokens, double seconds,
                     double first_token_seconds);
  // One request refused by admission, for a configured model (never a name the client made
  // up: unbounded labels). `reason` is one of ADMISSION_REASON_*.
  void observe_refusal(std::string_view model, std::string_view reason);
  // The text format. What other parts own is read at scrape time and passed in: the open
  // connections, and the usage writer's counters (socle_usage_records_written_total,
  // _dropped_total, socle_usage_records_pending, socle_usage_store_failures_total).
  // The runners of the models socle runs give the socle_engine_* series: sequences running
  // and waiting, KV blocks used, cached and free, prefix-cache hit and looked-up tokens,
  // evictions, preemptions, steps, prompt and generated tokens, finished and cancelled
  // sequences.
  std::string render(size_t open_connections, const tenancy::UsageWriterCounters& usage,
                     const std::vector<RunnerScrape>& runners = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace socle::api
