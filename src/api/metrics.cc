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
  prometheus::Family<prometheus::Gauge>& open =
      prometheus::BuildGauge()
          .Name("socle_http_open_connections")
          .Help("Client connections open now")
          .Register(*registry);
  prometheus::Gauge& open_gauge = open.Add({});
};

// Latency buckets from 0.5 ms (a cached answer) to 60 s (a long generation).
static const prometheus::Histogram::BucketBoundaries LATENCY_BUCKETS = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

HttpMetrics::HttpMetrics() : impl_(std::make_unique<Impl>()) {}
HttpMetrics::~HttpMetrics() = default;

void HttpMetrics::observe(std::string_view route, std::string_view method, int status,
                          double seconds) {
  std::string r(route.empty() ? "unmatched" : route);
  impl_->requests.Add({{"route", r}, {"method", std::string(method)}, {"status", std::to_string(status)}})
      .Increment();
  impl_->latency.Add({{"route", r}}, LATENCY_BUCKETS).Observe(seconds);
}

std::string HttpMetrics::render(size_t open_connections) {
  impl_->open_gauge.Set(static_cast<double>(open_connections));
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace socle::api
