// The usage sink of this version: one JSON log line per model request and Prometheus
// counters per model and provider. The Tenancy issue adds the queued store writer.
#pragma once

#include <memory>

#include "tenancy/usage.h"

namespace socle::api {

class HttpMetrics;

class UsageLog final : public tenancy::UsageSink {
 public:
  explicit UsageLog(HttpMetrics& metrics) : metrics_(metrics) {}
  void record(const tenancy::UsageRecord& record) override;

 private:
  HttpMetrics& metrics_;
};

}  // namespace socle::api
