// Polls the store's change counter on its own thread and runs a callback when it moves, so
// that changes made by the CLI or by other nodes reach this server's caches within one
// poll interval. The request path never waits on it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "base/periodic_thread.h"
#include "store/store.h"

namespace socle::tenancy {

class ChangeWatcher {
 public:
  // `on_change` runs on the watcher's thread.
  ChangeWatcher(store::Store& store, int64_t poll_ms, std::function<void()> on_change);

 private:
  void poll();

  store::Store& store_;
  std::function<void()> on_change_;
  int64_t last_ = -1;                     // the counter at the last poll; on the thread only
  bool reported_failure_ = false;         // on the thread only
  std::optional<PeriodicThread> thread_;  // last: it runs on the members above
};

}  // namespace socle::tenancy
