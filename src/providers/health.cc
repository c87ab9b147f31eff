#include "providers/health.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "base/log.h"

namespace socle::providers {
namespace {

// A health check never waits longer than this, whatever the interval.
constexpr int64_t MAX_CHECK_MS = 5'000;

class CheckHandler final : public http::ClientHandler {
 public:
  CheckHandler(Provider& provider, std::mutex& mu, std::condition_variable& cv, int& pending)
      : provider_(provider), mu_(mu), cv_(cv), pending_(pending) {}
  void on_head(int status, http::Headers) override { status_ = status; }
  bool on_body(std::string_view) override { return true; }
  void on_done(Status s) override {
    bool healthy = s.is_ok() && status_ >= 200 && status_ < 300;
    std::string error = !s.is_ok()
                            ? s.message()
                            : (healthy ? "" : "health check answered " + std::to_string(status_));
    bool was = provider_.snapshot().healthy;
    provider_.set_health(healthy, error);
    if (was != healthy) {
      if (healthy) {
        log::info("provider healthy again", {{"provider", provider_.spec().name}});
      } else {
        log::warn("provider unhealthy", {{"provider", provider_.spec().name}, {"error", error}});
      }
    }
    std::lock_guard lock(mu_);
    --pending_;
    cv_.notify_all();
  }

 private:
  Provider& provider_;
  std::mutex& mu_;
  std::condition_variable& cv_;
  int& pending_;
  int status_ = 0;
};

}  // namespace

HealthChecker::HealthChecker(Registry& registry, http::HttpClient& client, int64_t interval_ms)
    : registry_(registry), client_(client), interval_ms_(interval_ms) {
  thread_.emplace(interval_ms, [this] { check_all(); });
}

void HealthChecker::check_all() {
  std::mutex mu;
  std::condition_variable cv;
  int pending = 0;
  for (const auto& model : registry_.models()) {
    for (const auto& p : model->providers()) {
      const ProviderSpec& spec = p->spec();
      if (spec.health_path.empty()) continue;
      http::ClientRequest req;
      req.endpoint = spec.endpoint;
      req.method = "GET";
      req.target = spec.endpoint.base_path + spec.health_path;
      if (!spec.api_key.empty())
        req.headers.emplace_back("authorization", "Bearer " + spec.api_key);
      req.connect_timeout_ms = std::min(spec.connect_timeout_ms, MAX_CHECK_MS);
      req.first_byte_timeout_ms = std::min(interval_ms_, MAX_CHECK_MS);
      req.total_timeout_ms = std::min(interval_ms_, MAX_CHECK_MS);
      {
        std::lock_guard lock(mu);
        ++pending;
      }
      client_.start(std::move(req), std::make_shared<CheckHandler>(*p, mu, cv, pending));
    }
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return pending == 0; });
}

}  // namespace socle::providers
