// Retention: how long usage records and audit entries are kept, and the job that deletes the
// older ones. Usage records name users (by id), keys, models and times: personal data that
// GDPR wants kept no longer than needed; the audit log is kept longer, and pruned so that it
// still verifies (AuditLog::prune_before). 0 days keeps everything (the default: how long is
// a decision for the data controller, not for socle).
#pragma once

#include <cstdint>
#include <optional>

#include "base/clock.h"
#include "base/periodic_thread.h"
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

 private:
  void run();

  store::Store& store_;
  AuditLog& audit_;
  const Clock& clock_;
  RetentionSettings settings_;
  std::optional<PeriodicThread> thread_;  // last: it runs on the members above
};

}  // namespace socle::tenancy
