// Polls the store's change counter on its own thread and runs a callback when it moves, so
// that changes made by the CLI or by other nodes reach this server's caches within one
// poll interval. The request path never waits on it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "store/store.h"

namespace socle::tenancy {

class ChangeWatcher {
 public:
  // `on_change` runs on the watcher's thread.
  ChangeWatcher(store::Store& store, int64_t poll_ms, std::function<void()> on_change);
  ~ChangeWatcher();
  ChangeWatcher(const ChangeWatcher&) = delete;
  ChangeWatcher& operator=(const ChangeWatcher&) = delete;

 private:
  void loop();

  store::Store& store_;
  int64_t poll_ms_;
  std::function<void()> on_change_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace socle::tenancy
