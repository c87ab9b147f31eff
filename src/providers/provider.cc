#include "providers/provider.h"

namespace socle::providers {

// Weight of the newest latency sample in the moving average: about the last ten requests.
constexpr double LATENCY_EWMA_ALPHA = 0.2;

const char* breaker_state_name(BreakerState state) {
  switch (state) {
    case BreakerState::CLOSED:
      return "closed";
    case BreakerState::OPEN:
      return "open";
    case BreakerState::HALF_OPEN:
      return "half_open";
  }
  return "closed";
}

BreakerState Provider::breaker_state_locked() const {
  if (consecutive_failures_ < breaker_.failures_to_open) return BreakerState::CLOSED;
  return clock_.monotonic_ms() < open_until_ms_ ? BreakerState::OPEN : BreakerState::HALF_OPEN;
}

bool Provider::available() const {
  std::lock_guard lock(mu_);
  if (!healthy_ || in_flight_ >= spec_.max_in_flight) return false;
  BreakerState b = breaker_state_locked();
  return b == BreakerState::CLOSED || (b == BreakerState::HALF_OPEN && in_flight_ == 0);
}

bool Provider::try_acquire() {
  std::lock_guard lock(mu_);
  if (!healthy_ || in_flight_ >= spec_.max_in_flight) return false;
  BreakerState b = breaker_state_locked();
  if (b == BreakerState::OPEN) return false;
  if (b == BreakerState::HALF_OPEN && in_flight_ > 0) return false;  // one trial, alone
  ++in_flight_;
  ++requests_;
  return true;
}

void Provider::release_unjudged() {
  std::lock_guard lock(mu_);
  --in_flight_;
}

void Provider::release(bool success, double latency_s) {
  std::lock_guard lock(mu_);
  --in_flight_;
  if (success) {
    consecutive_failures_ = 0;
    double ms = latency_s * 1000.0;
    latency_ewma_ms_ = latency_ewma_ms_ == 0
                           ? ms
                           : LATENCY_EWMA_ALPHA * ms + (1 - LATENCY_EWMA_ALPHA) * latency_ewma_ms_;
    return;
  }
  ++errors_;
  ++consecutive_failures_;
  if (consecutive_failures_ >= breaker_.failures_to_open) {
    open_until_ms_ = clock_.monotonic_ms() + breaker_.cooldown_ms;
  }
}

void Provider::set_health(bool healthy, std::string error) {
  std::lock_guard lock(mu_);
  healthy_ = healthy;
  health_error_ = std::move(error);
}

ProviderSnapshot Provider::snapshot() const {
  std::lock_guard lock(mu_);
  ProviderSnapshot s;
  s.healthy = healthy_;
  s.health_error = health_error_;
  s.breaker = breaker_state_locked();
  s.in_flight = in_flight_;
  s.requests = requests_;
  s.errors = errors_;
  s.latency_ewma_ms = latency_ewma_ms_;
  s.consecutive_failures = consecutive_failures_;
  return s;
}

int64_t Provider::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

double Provider::latency_ewma_ms() const {
  std::lock_guard lock(mu_);
  return latency_ewma_ms_;
}

}  // namespace socle::providers
