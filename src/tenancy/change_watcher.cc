#include "tenancy/change_watcher.h"

#include "base/log.h"

namespace socle::tenancy {

ChangeWatcher::ChangeWatcher(store::Store& store, int64_t poll_ms, std::function<void()> on_change)
    : store_(store), on_change_(std::move(on_change)) {
  thread_.emplace(poll_ms, [this] { poll(); });
}

void ChangeWatcher::poll() {
  Result<int64_t> counter = store_.change_counter();
  if (!counter.is_ok()) {
    // Keep serving from the caches; say so once, and again when it recovers.
    if (!reported_failure_)
      log::error("cannot poll the store", {{"error", counter.status().message()}});
    reported_failure_ = true;
    return;
  }
  if (reported_failure_) log::info("the store answers again");
  reported_failure_ = false;
  // The first poll calls back too: a change may have landed since the caches loaded.
  if (*counter != last_) {
    on_change_();
    last_ = *counter;
  }
}

}  // namespace socle::tenancy
