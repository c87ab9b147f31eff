// Inference requests admitted whose usage record is not made yet. A stopping server drops the
// connections still open when its grace period ends; their relays and generations then see
// the client gone and record their usage on the way out. App::run waits for that (a bounded
// time) before the usage writer's last flush, so that a request dropped at shutdown is still
// counted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

namespace socle::api {

class RequestsInFlight {
 public:
  // Counts one request until the last copy of the returned pointer goes (keep it where the
  // request's usage is recorded: it goes with the relay or the generation).
  std::shared_ptr<void> hold();
  // Waits up to `timeout_ms` for no request to be held; returns how many still are.
  int64_t wait_none(int64_t timeout_ms);

 private:
  void release();

  std::mutex mu_;
  std::condition_variable none_;
  int64_t count_ = 0;  // guarded by mu_
};

}  // namespace socle::api
