#include "tenancy/retention.h"

#include "base/log.h"

namespace socle::tenancy {
namespace {

constexpr int64_t SECONDS_PER_DAY = 86'400;

}  // namespace

Result<RetentionReport> apply_retention(store::Store& store, AuditLog& audit, const Clock& clock,
                                        const RetentionSettings& settings) {
  const store::Actor sys = store::Actor::system();
  RetentionReport report;
  const int64_t now = clock.unix_seconds();
  if (settings.usage_days > 0) {
    const int64_t before_s = now - settings.usage_days * SECONDS_PER_DAY;
    SOCLE_RETURN_IF_ERROR(store.transaction([&]() -> Status {
      SOCLE_ASSIGN_OR_RETURN(report.usage_records,
                             store.usage().remove_before(sys, before_s * 1000));
      if (report.usage_records == 0) return Status::ok();
      AuditEvent pruned{"usage.prune",
                        "usage_records",
                        "",
                        {{"records", report.usage_records},
                         {"older_than", before_s},
                         {"retention_days", settings.usage_days}}};
      return audit.append(sys, pruned).status_or_ok();
    }));
  }
  if (settings.audit_days > 0) {
    SOCLE_ASSIGN_OR_RETURN(report.audit_entries,
                           audit.prune_before(sys, now - settings.audit_days * SECONDS_PER_DAY));
  }
  return report;
}

RetentionJob::RetentionJob(store::Store& store, AuditLog& audit, const Clock& clock,
                           RetentionSettings settings, int64_t interval_ms)
    : store_(store), audit_(audit), clock_(clock), settings_(settings) {
  if (settings_.usage_days > 0 || settings_.audit_days > 0)
    thread_.emplace(interval_ms, [this] { run(); });
}

void RetentionJob::run() {
  Result<RetentionReport> r = apply_retention(store_, audit_, clock_, settings_);
  if (!r.is_ok()) {
    log::error("retention failed", {{"error", r.status().message()}});
  } else if (r->usage_records > 0 || r->audit_entries > 0) {
    log::info("retention", {{"usage_records_deleted", r->usage_records},
                            {"audit_entries_deleted", r->audit_entries}});
  }
}

}  // namespace socle::tenancy
