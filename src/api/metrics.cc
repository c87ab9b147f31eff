#include "api/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>
#include <unordered_map>
#include <vector>

#include "tenancy/usage_writer.h"

namespace socle::api {

namespace {

// prometheus-cpp's Family::Add builds a whole metric (a histogram with its buckets) before
// it finds that the labels exist; on every request that was a visible cost (bench/gateway).
// Each series is looked up once and its address kept here: the registry owns the metrics
// and never moves them.
template <typename M>
class SeriesCache {
 public:
  template <typename MakeFn>
  M& get(const std::string& key, MakeFn make) {
    std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it != series_.end()) return *it->second;
    M& m = make();
    series_.emplace(key, &m);
    return m;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, M*> series_;  // guarded by mu_
};

std::string series_key(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (std::string_view p : parts) {
    key += p;
    key += '\x1f';  // a unit separator: no label value holds it
  }
  return key;
}

// One unlabelled series whose value another part owns and which is read at scrape time:
// prometheus-cpp's Counter can only be incremented, so such counters are not registered but
// added to what the registry collects.
prometheus::MetricFamily scraped(const char* name, const char* help, prometheus::MetricType type,
                                 int64_t value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = static_cast<double>(value);
  } else {
    m.gauge.value = static_cast<double>(value);
  }
  return {name, help, type, {m}};
}

// A family with one series per (labels, value).
prometheus::MetricFamily labelled(
    const char* name, const char* help, prometheus::MetricType type,
    const std::vector<std::pair<std::vector<prometheus::ClientMetric::Label>, int64_t>>& series) {
  prometheus::MetricFamily f{name, help, type, {}};
  for (const auto& [labels, value] : series) {
    prometheus::ClientMetric m;
    m.label = labels;
    if (type == prometheus::MetricType::Counter) {
      m.counter.value = static_cast<double>(value);
    } else {
      m.gauge.value = static_cast<double>(value);
    }
    f.metric.push_back(std::move(m));
  }
  return f;
}

void add_runner_families(std::vector<prometheus::MetricFamily>& families,
                         const std::vector<RunnerScrape>& runners) {
  if (runners.empty()) return;
  using prometheus::MetricType;
  using Series = std::vector<std::pair<std::vector<prometheus::ClientMetric::Label>, int64_t>>;
  Series sequences, blocks;
  auto per_model = [&runners](auto value) {
    Series out;
    for (const auto& r : runners)
      out.push_back({{{"model", r.model}}, value(r.stats)});
    return out;
  };
  for (const auto& r : runners) {
    sequences.push_back({{{"model", r.model}, {"state", "running"}}, r.stats.running});
    sequences.push_back({{{"model", r.model}, {"state", "waiting"}}, r.stats.waiting});
    blocks.push_back({{{"model", r.model}, {"state", "used"}}, r.stats.blocks.used});
    blocks.push_back({{{"model", r.model}, {"state", "cached"}}, r.stats.blocks.cached});
    blocks.push_back({{{"model", r.model}, {"state", "free"}}, r.stats.blocks.free});
  }
  using S = engine::scheduler::RunnerStats;
  families.push_back(labelled("socle_engine_sequences",
                              "Sequences of socle's engine, running or waiting for KV blocks",
                              MetricType::Gauge, sequences));
  families.push_back(labelled("socle_engine_kv_blocks",
                              "KV cache blocks: used by sequences, cached for prefix hits, free",
                              MetricType::Gauge, blocks));
  families.push_back(labelled("socle_engine_kv_block_tokens", "Positions per KV cache block",
                              MetricType::Gauge,
                              per_model([](const S& s) { return s.block_tokens; })));
  families.push_back(labelled("socle_engine_prefix_cache_hit_tokens_total",
                              "Prompt positions taken from the prefix cache", MetricType::Counter,
                              per_model([](const S& s) { return s.blocks.hit_tokens; })));
  families.push_back(labelled("socle_engine_prefix_cache_lookup_tokens_total",
                              "Prompt positions looked up in the prefix cache", MetricType::Counter,
                              per_model([](const S& s) { return s.blocks.lookup_tokens; })));
  families.push_back(labelled("socle_engine_kv_evictions_total",
                              "Cached KV blocks given to other content", MetricType::Counter,
                              per_model([](const S& s) { return s.blocks.evictions; })));
  families.push_back(labelled(
      "socle_engine_preemptions_total", "Sequences preempted for KV blocks (recomputed later)",
      MetricType::Counter, per_model([](const S& s) { return s.preemptions; })));
  families.push_back(labelled("socle_engine_steps_total", "Forward passes run", MetricType::Counter,
                              per_model([](const S& s) { return s.steps; })));
  families.push_back(labelled(
      "socle_engine_prompt_tokens_total", "Prompt positions computed (prefix-cache hits excluded)",
      MetricType::Counter, per_model([](const S& s) { return s.prompt_tokens; })));
  families.push_back(labelled("socle_engine_generated_tokens_total", "Tokens sampled",
                              MetricType::Counter,
                              per_model([](const S& s) { return s.generated_tokens; })));
  families.push_back(labelled("socle_engine_sequences_finished_total",
                              "Sequences that ended on a stop or their length", MetricType::Counter,
                              per_model([](const S& s) { return s.finished; })));
  families.push_back(labelled("socle_engine_sequences_cancelled_total",
                              "Sequences cancelled (client gone, or shutdown)", MetricType::Counter,
                              per_model([](const S& s) { return s.cancelled; })));
}

}  // namespace

struct HttpMetrics::Impl {
  SeriesCache<prometheus::Counter> counters;
  SeriesCache<prometheus::Histogram> histograms;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("socle_http_requests_total")
          .Help("HTTP requests answered, by route pattern, method and status")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram()
          .Name("socle_http_request_duration_seconds")
          .Help("Time from a request's first byte to its response's last, by route pattern")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& open = prometheus::BuildGauge()
                                                    .Name("socle_http_open_connections")
                                                    .Help("Client connections open now")
                                                    .Register(*registry);
  prometheus::Gauge& open_gauge = open.Add({});
  prometheus::Family<prometheus::Counter>& model_requests =
      prometheus::BuildCounter()
          .Name("socle_model_requests_total")
          .Help("Model requests, by public model, provider that answered and status")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& tokens =
      prometheus::BuildCounter()
          .Name("socle_model_tokens_total")
          .Help("Tokens processed, by public model and type (prompt or completion)")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& model_latency =
      prometheus::BuildHistogram()
          .Name("socle_model_request_duration_seconds")
          .Help("Model request time, by public model")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& first_token =
      prometheus::BuildHistogram()
          .Name("socle_model_time_to_first_token_seconds")
          .Help("Time to the first streamed byte, by public model")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& refusals =
      prometheus::BuildCounter()
          .Name("socle_admission_refusals_total")
          .Help(
              "Model requests refused by admission, by public model and reason (no_access, "
              "too_large, rate_limited)")
          .Register(*registry);
};

// Latency buckets from 0.5 ms (a cached answer) to 60 s (a long generation).
static const prometheus::Histogram::BucketBoundaries LATENCY_BUCKETS = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

HttpMetrics::HttpMetrics() : impl_(std::make_unique<Impl>()) {}
HttpMetrics::~HttpMetrics() = default;

void HttpMetrics::observe(std::string_view route, std::string_view method, int status,
                          double seconds) {
  std::string r(route.empty() ? "unmatched" : route);
  std::string code = std::to_string(status);
  impl_->counters
      .get(series_key({"http", r, method, code}),
           [&]() -> prometheus::Counter& {
             return impl_->requests.Add(
                 {{"route", r}, {"method", std::string(method)}, {"status", code}});
           })
      .Increment();
  impl_->histograms
      .get(series_key({"http", r}),
           [&]() -> prometheus::Histogram& {
             return impl_->latency.Add({{"route", r}}, LATENCY_BUCKETS);
           })
      .Observe(seconds);
}

void HttpMetrics::observe_model(std::string_view model, std::string_view provider, int status,
                                int64_t prompt_tokens, int64_t completion_tokens, double seconds,
                                double first_token_seconds) {
  std::string m(model);
  std::string code = std::to_string(status);
  impl_->counters
      .get(series_key({"model", m, provider, code}),
           [&]() -> prometheus::Counter& {
             return impl_->model_requests.Add(
                 {{"model", m}, {"provider", std::string(provider)}, {"status", code}});
           })
      .Increment();
  for (const auto& entry : {std::pair<const char*, int64_t>{"prompt", prompt_tokens},
                            std::pair<const char*, int64_t>{"completion", completion_tokens}}) {
    // Not a structured binding: clang 14 cannot capture those in the lambda below.
    const char* type = entry.first;
    int64_t n = entry.second;
    impl_->counters
        .get(series_key({"tokens", m, type}),
             [&]() -> prometheus::Counter& {
               return impl_->tokens.Add({{"model", m}, {"type", type}});
             })
        .Increment(static_cast<double>(n));
  }
  impl_->histograms
      .get(series_key({"latency", m}),
           [&]() -> prometheus::Histogram& {
             return impl_->model_latency.Add({{"model", m}}, LATENCY_BUCKETS);
           })
      .Observe(seconds);
  impl_->histograms
      .get(series_key({"ttft", m}),
           [&]() -> prometheus::Histogram& {
             return impl_->first_token.Add({{"model", m}}, LATENCY_BUCKETS);
           })
      .Observe(first_token_seconds);
}

void HttpMetrics::observe_refusal(std::string_view model, std::string_view reason) {
  std::string m(model);
  impl_->counters
      .get(series_key({"refusal", m, reason}),
           [&]() -> prometheus::Counter& {
             return impl_->refusals.Add({{"model", m}, {"reason", std::string(reason)}});
           })
      .Increment();
}

std::string HttpMetrics::render(size_t open_connections, const tenancy::UsageWriterCounters& usage,
                                const std::vector<RunnerScrape>& runners) {
  impl_->open_gauge.Set(static_cast<double>(open_connections));
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  using prometheus::MetricType;
  families.push_back(scraped("socle_usage_records_written_total",
                             "Usage records stored by the usage writer", MetricType::Counter,
                             usage.written));
  families.push_back(
      scraped("socle_usage_records_dropped_total",
              "Usage records lost: queue full, store down at shutdown, or writer stopped",
              MetricType::Counter, usage.dropped));
  families.push_back(scraped("socle_usage_records_pending",
                             "Usage records queued or being written now", MetricType::Gauge,
                             usage.pending));
  families.push_back(scraped("socle_usage_store_failures_total",
                             "Usage store appends that failed (each is retried)",
                             MetricType::Counter, usage.failed_appends));
  add_runner_families(families, runners);
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace socle::api
