// Retention: how long usage records and audit entries are kept, and the job that deletes the
// older ones. Usage records name users (by id), keys, models and times: personal data that
// GDPR wants kept no longer than needed; the audit log is kept longer, and pruned so that it
// still verifies (AuditLog::prune_before). 0 days keeps everything (the default: how long is
// a decision for the data controller, not for socle).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "base/status.h"
#include "store/store.h"
#include "tenancy/audit.h"

namespace socle::tenancy {

struct RetentionSettings {
  int64_t usage_days = 0;  // usage records older than this go; 0 keeps them
  int64_t audit_days = 0;  // audit entries older than this go; 0 keeps them
};

struct RetentionReport {
  int64_t usage_records = 0;  // deleted
  int64_t audit_entries = 0;  // deleted
};

// Deletes what is older than the settings allow, as of `clock`'s now. A deletion of usage
// records is audited (`usage.prune`, in the transaction that deletes them); the audit log's
// own pruning records itself (`audit.prune`).
Result<RetentionReport> apply_retention(store::Store& store, AuditLog& audit, const Clock& clock,
                                        const RetentionSettings& settings);

// Runs apply_retention at start and then every `interval_ms` on its own thread, while
// either setting is on; failures are logged and tried again at the next run.
class RetentionJob {
 public:
  RetentionJob(store::Store& store, AuditLog& audit, const Clock& clock, RetentionSettings settings,
               int64_t interval_ms);
  ~RetentionJob();
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

 private:
  void loop();

  store::Store& store_;
  AuditLog& audit_;
  const Clock& clock_;
  RetentionSettings settings_;
  int64_t interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace socle::tenancy
