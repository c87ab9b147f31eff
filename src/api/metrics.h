// Prometheus metrics of the HTTP service: requests by route, method and status, a latency
// histogram by route, and open connections. Rendered in the text exposition format.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace socle::api {

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
  // The text format, with the open-connections gauge read at scrape time.
  std::string render(size_t open_connections);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace socle::api
