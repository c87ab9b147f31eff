// One record per model request, for limits and accounting. No prompt or answer content.
// The gateway and the engine produce them; a UsageSink consumes them (the log and metrics
// today; the store, in batches, with the Tenancy issue).
#pragma once

#include <cstdint>
#include <string>

namespace socle::tenancy {

struct UsageRecord {
  int64_t time_unix = 0;
  std::string request_id;
  std::string user_id;
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

}  // namespace socle::tenancy
