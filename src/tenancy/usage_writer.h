// The usage writer: the UsageSink that makes usage durable. record() only queues (it runs
// on I/O threads); one background thread writes the queue to the store in batches, at least
// every `flush_ms`, so that a crash loses at most that much usage (DESIGN.md, principle 4).
//
// When the store fails, the batch in hand is kept and retried with a growing delay while
// new records keep queueing; when the queue is full, new records are dropped, counted and
// logged, never waited for. Memory stays bounded by `capacity` plus one batch.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "store/store.h"
#include "tenancy/energy.h"
#include "tenancy/usage.h"

namespace socle::tenancy {

struct UsageWriterSettings {
  size_t capacity = 100'000;  // records queued at most; more are dropped
  size_t batch_size = 1'000;  // records per store append
  int64_t flush_ms = 500;     // the longest a record waits in the queue while the store is up
  // The longest wait between retries while the store is down (the delay starts at
  // flush_ms and doubles).
  int64_t max_retry_ms = 30'000;
  EnergySettings energy;
};

// OK if capacity, batch_size and flush_ms are at least 1 and max_retry_ms at least
// flush_ms, and the energy settings are valid; INVALID_ARGUMENT naming the setting otherwise.
Status check_usage_writer_settings(const UsageWriterSettings& settings);

// A model's parameter count in billions from its public name; 0 when unknown (its records
// then carry no energy estimate). Called on the writer's thread, never on an I/O thread.
using ModelParamsFn = std::function<double(const std::string& model)>;

struct UsageWriterCounters {
  int64_t written = 0;         // records stored
  int64_t dropped = 0;         // records lost: queue full, writer stopped, or store down at stop
  int64_t pending = 0;         // records queued or in the batch being written
  int64_t failed_appends = 0;  // store appends that failed (each one is retried)
};

class UsageWriter final : public UsageSink {
 public:
  // `usage` must outlive the writer; `settings` must pass check_usage_writer_settings().
  // Starts the writer thread.
  UsageWriter(store::UsageStore& usage, ModelParamsFn model_params,
              const UsageWriterSettings& settings);
  // stop().
  ~UsageWriter() override;
  UsageWriter(const UsageWriter&) = delete;
  UsageWriter& operator=(const UsageWriter&) = delete;

  // Queues the record; never blocks on the store. Thread-safe.
  void record(const UsageRecord& record) override;

  // Blocks until every record queued before the call is stored: OK then, or the error of the
  // first append that fails meanwhile (the records stay queued and are retried), or
  // FAILED_PRECONDITION once the writer has stopped. Writes at once, whatever flush_ms says.
  Status flush();

  // Writes what is queued (one attempt per batch: if the store fails, the rest is dropped,
  // counted and logged), then joins the thread. Later records are dropped. Idempotent.
  void stop();

  UsageWriterCounters counters() const;

 private:
  void run();
  // Takes up to one batch off the queue. Needs mu_.
  std::vector<store::UsageEntry> take_batch_locked();
  // True when the writer thread should write without waiting for the timer. Needs mu_.
  bool must_write_locked(bool holding_batch) const;

  store::UsageStore& usage_;
  ModelParamsFn model_params_;
  const UsageWriterSettings settings_;

  mutable std::mutex mu_;
  std::condition_variable wake_writer_;  // more work, a flush, or stop
  std::condition_variable progress_;     // a batch written or failed, or the writer stopped
  std::deque<store::UsageEntry> queue_;  // guarded by mu_
  int64_t held_ = 0;                     // records taken by the writer, not yet stored; mu_
  int64_t accepted_ = 0;                 // records ever queued; guarded by mu_
  int64_t written_ = 0;                  // guarded by mu_
  int64_t dropped_ = 0;                  // guarded by mu_
  int64_t failed_appends_ = 0;           // guarded by mu_
  int64_t flush_target_ = 0;             // flushers wait for written_ to reach it; guarded by mu_
  Status last_error_;                    // of the latest failed append; guarded by mu_
  bool dropping_ = false;  // the queue was full at the latest record(); guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  bool stopped_ = false;   // the thread has finished; guarded by mu_
  std::once_flag stop_once_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace socle::tenancy
