// The HTTP/1.1 server (Boost.Beast on Asio, in server.cc alone). Keep-alive, several I/O
// threads, request limits that answer instead of failing, and graceful shutdown.
//
// Limits: a request line plus headers over max_header_bytes gets 431; a body over the
// route's limit gets 413; a request not received whole within request_timeout_ms gets 408;
// a keep-alive connection idle for idle_timeout_ms is closed; connections beyond
// max_connections get 503 and are closed. Unknown routes get 404 and wrong methods 405.
// Every response carries x-request-id. Error bodies come from `error_body`, so that the
// layer above decides their shape.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "http/io_pool.h"
#include "http/message.h"
#include "http/router.h"

namespace socle::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port
  int io_threads = 2;    // loops of the server's own IoPool; unused on a shared pool
  int64_t max_header_bytes = int64_t{16} * 1024;
  int64_t max_body_bytes = int64_t{16} * 1024 * 1024;
  int64_t idle_timeout_ms = 60'000;
  int64_t request_timeout_ms = 30'000;
  int64_t write_timeout_ms = 30'000;
  int64_t max_connections = 10'000;
  int64_t shutdown_grace_ms = 30'000;
};

// What the server knows about one finished exchange, for access logs and metrics.
struct Completion {
  const Request* request = nullptr;  // null when the request could not be read (408/413/431)
  std::string_view request_id;
  int status = 0;
  uint64_t body_bytes = 0;  // response body bytes sent
  double seconds = 0;       // from the first byte of the request to the last of the response
};

struct ServerHooks {
  // Renders an error body (status, message, machine code such as "not_found").
  std::function<Response(int status, std::string_view message, std::string_view code)> error_body;
  // Called once per exchange, from an I/O thread, after the response is written.
  std::function<void(const Completion&)> on_complete;
};

class Server {
 public:
  // Binds and listens; fails with UNAVAILABLE if the address cannot be bound. Connections
  // run on `pool`'s loops when given (share it with the HttpClient that handlers use, so
  // that a relay stays on its connection's thread); the pool must then outlive the server
  // and be stopped before the server is destroyed. Without it the server makes its own pool
  // of io_threads loops and stops it when destroyed.
  static Result<std::unique_ptr<Server>> create(ServerOptions options, const Router& router,
                                                ServerHooks hooks, IoPool* pool = nullptr);
  virtual ~Server() = default;

  // The port actually bound (useful with port 0).
  virtual uint16_t port() const = 0;
  virtual size_t open_connections() const = 0;

  // Serves until stop() or, if `handle_signals`, SIGTERM/SIGINT; then stops accepting, lets
  // in-flight requests finish for up to shutdown_grace_ms, closes idle connections and
  // returns. Blocks the calling thread meanwhile (the pool's threads do the work); call once.
  // Connections still open when the grace period ends are dropped when the pool stops.
  virtual void run(bool handle_signals) = 0;
  // Starts the graceful shutdown; thread-safe, returns at once.
  virtual void stop() = 0;
};

}  // namespace socle::http
