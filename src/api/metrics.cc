#include "api/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace socle::api {

struct HttpMetrics::Impl {
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
};

// Latency buckets from 0.5 ms (a cached answer) to 60 s (a long generation).
static const prometheus::Histogram::BucketBoundaries LATENCY_BUCKETS = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

HttpMetrics::HttpMetrics() : impl_(std::make_unique<Impl>()) {}
HttpMetrics::~HttpMetrics() = default;

void HttpMetrics::observe(std::string_view route, std::string_view method, int status,
                          double seconds) {
  std::string r(route.empty() ? "unmatched" : route);
  impl_->requests
      .Add({{"route", r}, {"method", std::string(method)}, {"status", std::to_string(status)}})
      .Increment();
  impl_->latency.Add({{"route", r}}, LATENCY_BUCKETS).Observe(seconds);
}

void HttpMetrics::observe_model(std::string_view model, std::string_view provider, int status,
                                int64_t prompt_tokens, int64_t completion_tokens, double seconds,
                                double first_token_seconds) {
  std::string m(model);
  impl_->model_requests
      .Add({{"model", m}, {"provider", std::string(provider)}, {"status", std::to_string(status)}})
      .Increment();
  impl_->tokens.Add({{"model", m}, {"type", "prompt"}})
      .Increment(static_cast<double>(prompt_tokens));
  impl_->tokens.Add({{"model", m}, {"type", "completion"}})
      .Increment(static_cast<double>(completion_tokens));
  impl_->model_latency.Add({{"model", m}}, LATENCY_BUCKETS).Observe(seconds);
  impl_->first_token.Add({{"model", m}}, LATENCY_BUCKETS).Observe(first_token_seconds);
}

std::string HttpMetrics::render(size_t open_connections) {
  impl_->open_gauge.Set(static_cast<double>(open_connections));
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace socle::api
