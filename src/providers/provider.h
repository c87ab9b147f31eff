// The live state of one upstream provider: requests in flight, recent latency, the result
// of active health checks, and a circuit breaker that takes it out of rotation after
// repeated failures and lets one trial request through after a cool-down.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "providers/model_spec.h"

namespace socle::providers {

struct BreakerSettings {
  int64_t failures_to_open = 5;
  int64_t cooldown_ms = 10'000;
};

enum class BreakerState { CLOSED, OPEN, HALF_OPEN };
const char* breaker_state_name(BreakerState state);

struct ProviderSnapshot {
  bool healthy = true;
  std::string health_error;
  BreakerState breaker = BreakerState::CLOSED;
  int64_t in_flight = 0;
  int64_t requests = 0;
  int64_t errors = 0;
  double latency_ewma_ms = 0;  // 0 until the first success
  int64_t consecutive_failures = 0;
};

class Provider {
 public:
  Provider(ProviderSpec spec, BreakerSettings breaker, const Clock& clock)
      : spec_(std::move(spec)), breaker_(breaker), clock_(clock) {}

  const ProviderSpec& spec() const { return spec_; }

  // Whether a request could be sent now (no side effect).
  bool available() const;
  // Reserves a slot if available. A half-open breaker admits a single trial request, when
  // nothing else is in flight: requests sent before it opened, ending later, would otherwise
  // be taken for the trial's outcome (or let a second trial through).
  bool try_acquire();
  // Ends a reserved request. A failure is an upstream fault (connection, timeout, 5xx, 429),
  // not a client error relayed as is.
  void release(bool success, double latency_s);
  // Ends a reserved request that says nothing of the upstream's health (the client cancelled
  // it): neither a success that would close the breaker nor a failure.
  void release_unjudged();

  void set_health(bool healthy, std::string error);

  ProviderSnapshot snapshot() const;
  int64_t in_flight() const;
  double latency_ewma_ms() const;

 private:
  BreakerState breaker_state_locked() const;

  const ProviderSpec spec_;
  const BreakerSettings breaker_;
  const Clock& clock_;
  mutable std::mutex mu_;
  // Guarded by mu_:
  bool healthy_ = true;
  std::string health_error_;
  int64_t in_flight_ = 0;
  int64_t requests_ = 0;
  int64_t errors_ = 0;
  int64_t consecutive_failures_ = 0;
  int64_t open_until_ms_ = 0;  // breaker open until this monotonic time
  double latency_ewma_ms_ = 0;
};

}  // namespace socle::providers
