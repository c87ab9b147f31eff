// Active health checks: a thread that asks every provider's health path at an interval and
// takes providers out of rotation (or back in) by the answer. Passive checks are the circuit
// breaker in Provider.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "http/client.h"
#include "providers/registry.h"

namespace socle::providers {

class HealthChecker {
 public:
  HealthChecker(Registry& registry, http::HttpClient& client, int64_t interval_ms);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Checks every provider once, concurrently, and waits for the answers.
  void check_all();

 private:
  void loop();

  Registry& registry_;
  http::HttpClient& client_;
  int64_t interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace socle::providers
