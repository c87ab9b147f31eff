// A thread that runs a task at once and then every `interval_ms`, until it is destroyed: the
// destructor wakes it from its wait and joins it (a run under way finishes first). The
// background jobs of a server (the change watcher, retention) are one each.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace socle {

class PeriodicThread {
 public:
  PeriodicThread(int64_t interval_ms, std::function<void()> task);
  ~PeriodicThread();
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

 private:
  void loop();

  int64_t interval_ms_;
  std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace socle
