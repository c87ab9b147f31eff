// A Responder lets a handler answer later or from another thread, and stream: the model
// scheduler and the upstream relay write tokens through it as they come. Every method is
// thread-safe. The connection writes what it is given in order.
//
// Use exactly one of:
//   send(response)                                   a whole response, now or later;
//   start_stream(status, headers), write()*, finish()  a chunked body (SSE).
// If the last reference to a Responder goes away before either finished, the client gets a
// 500 (nothing sent yet) or a truncated stream (stream started): never a hung connection.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "http/message.h"

namespace socle::http {

class Responder {
 public:
  virtual ~Responder() = default;

  virtual void send(Response response) = 0;
  virtual void start_stream(int status, Headers headers) = 0;
  // Queues a chunk of the body; false once the client has gone (stop producing then).
  virtual bool write(std::string chunk) = 0;
  virtual void finish() = 0;

  // True once the client has disconnected or the write failed.
  virtual bool cancelled() const = 0;
  // Runs `fn` once when the client goes away before the answer is complete (from an I/O
  // thread; keep it short: set a flag, post to a queue). Runs at once if already cancelled.
  virtual void on_cancel(std::function<void()> fn) = 0;
};

using ResponderPtr = std::shared_ptr<Responder>;

}  // namespace socle::http
