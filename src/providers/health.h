// Active health checks: a thread that asks every provider's health path at an interval and
// takes providers out of rotation (or back in) by the answer. Passive checks are the circuit
// breaker in Provider.
#pragma once

#include <cstdint>
#include <optional>

#include "base/periodic_thread.h"
#include "http/client.h"
#include "providers/registry.h"

namespace socle::providers {

class HealthChecker {
 public:
  HealthChecker(Registry& registry, http::HttpClient& client, int64_t interval_ms);

  // Checks every provider once, concurrently, and waits for the answers.
  void check_all();

 private:
  Registry& registry_;
  http::HttpClient& client_;
  int64_t interval_ms_;
  std::optional<PeriodicThread> thread_;  // last: it runs on the members above
};

}  // namespace socle::providers
