#include "api/requests_in_flight.h"

#include <chrono>

namespace socle::api {

std::shared_ptr<void> RequestsInFlight::hold() {
  {
    std::lock_guard lock(mu_);
    ++count_;
  }
  // The deleter runs once, when the last copy goes; the pointer itself is never read.
  return {static_cast<void*>(this), [this](void* /*unused*/) { release(); }};
}

void RequestsInFlight::release() {
  bool none = false;
  {
    std::lock_guard lock(mu_);
    none = --count_ == 0;
  }
  if (none) none_.notify_all();
}

int64_t RequestsInFlight::wait_none(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  none_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return count_ == 0; });
  return count_;
}

}  // namespace socle::api
