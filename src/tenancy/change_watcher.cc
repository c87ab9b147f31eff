#include "tenancy/change_watcher.h"

#include "base/log.h"

namespace socle::tenancy {

ChangeWatcher::ChangeWatcher(store::Store& store, int64_t poll_ms, std::function<void()> on_change)
    : store_(store), poll_ms_(poll_ms), on_change_(std::move(on_change)) {
  thread_ = std::thread([this] { loop(); });
}

ChangeWatcher::~ChangeWatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ChangeWatcher::loop() {
  int64_t last = -1;
  bool reported_failure = false;
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    Result<int64_t> counter = store_.change_counter();
    if (!counter.is_ok()) {
      // Keep serving from the caches; say so once, and again when it recovers.
      if (!reported_failure)
        log::error("cannot poll the store", {{"error", counter.status().message()}});
      reported_failure = true;
    } else {
      if (reported_failure) log::info("the store answers again");
      reported_failure = false;
      // The first poll calls back too: a change may have landed since the caches loaded.
      if (*counter != last) {
        on_change_();
        last = *counter;
      }
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(poll_ms_), [this] { return stop_; });
  }
}

}  // namespace socle::tenancy
