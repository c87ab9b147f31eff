#include "base/periodic_thread.h"

#include <chrono>

namespace socle {

PeriodicThread::PeriodicThread(int64_t interval_ms, std::function<void()> task)
    : interval_ms_(interval_ms), task_(std::move(task)) {
  thread_ = std::thread([this] { loop(); });
}

PeriodicThread::~PeriodicThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PeriodicThread::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    task_();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stop_; });
  }
}

}  // namespace socle
