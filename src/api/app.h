// The server as `socle serve` runs it, assembled from a configuration, an opened store and
// audit log, and a clock: the key cache, the admission limiter, the usage writer, the model
// registry and its health checks, the HTTP client for relays, the routes and the HTTP server.
// Tests build one in-process with a ManualClock to hold time still.
#pragma once

#include <memory>
#include <string>

#include "base/clock.h"
#include "base/config.h"
#include "base/status.h"
#include "http/server.h"
#include "store/store.h"
#include "tenancy/audit.h"
#include "tenancy/usage_writer.h"

namespace socle::api {

// Splits "HOST:PORT" ("[::1]:8080" for IPv6); INVALID_ARGUMENT naming the address otherwise.
Status split_listen(const std::string& listen, std::string* host, uint16_t* port);

class App {
 public:
  // Binds config.listen at once (so port() is known before run()). The store, the audit
  // log, the config and the clock must outlive the App.
  static Result<std::unique_ptr<App>> create(const Config& config, store::Store& store,
                                             tenancy::AuditLog& audit, const Clock& clock);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  uint16_t port() const;
  // Starts the store watcher and the providers' health checks, then serves until stop() or,
  // with `handle_signals`, SIGTERM or SIGINT; in-flight requests finish first. Then the
  // usage queue is written out.
  void run(bool handle_signals);
  // Asks run() to return; callable from any thread.
  void stop();

  tenancy::UsageWriter& usage_writer();

  struct Parts;

 private:
  explicit App(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace socle::api
