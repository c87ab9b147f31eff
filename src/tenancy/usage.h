// One record per model request, for limits and accounting. No prompt or answer content.
// The gateway and the engine produce them; UsageSinks consume them (the log and metrics,
// and the usage writer that stores them in batches).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace socle::tenancy {

struct UsageRecord {
  int64_t time_ms = 0;  // Unix milliseconds, when the request arrived
  std::string request_id;
  int64_t user_id = 0;
  int64_t key_id = 0;
  int64_t org_id = 0;
  std::string model;     // the public name asked for
  std::string provider;  // which provider answered ("" if none did)
  std::string endpoint;  // "/v1/chat/completions", ...
  int status = 0;        // HTTP status the client got
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double latency_s = 0;      // request start to the last byte
  double first_token_s = 0;  // request start to the first body byte (streams), else latency
  int attempts = 0;          // providers tried
};

class UsageSink {
 public:
  virtual ~UsageSink() = default;
  // Must not block: called on I/O threads.
  virtual void record(const UsageRecord& record) = 0;
};

// Hands each record to every sink in turn (the log and metrics, then the usage writer).
class UsageFanout final : public UsageSink {
 public:
  // Not owned: each sink must outlive the fan-out.
  explicit UsageFanout(std::vector<UsageSink*> sinks) : sinks_(std::move(sinks)) {}
  void record(const UsageRecord& record) override {
    for (UsageSink* sink : sinks_)
      sink->record(record);
  }

 private:
  std::vector<UsageSink*> sinks_;
};

}  // namespace socle::tenancy
