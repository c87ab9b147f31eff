// The event loops of the HTTP server and client: `threads` Asio io_contexts, each run by a
// thread of its own, like nginx's workers. A server connection lives on one loop for its
// whole life, and an upstream call that a handler starts on that loop's thread runs on the
// same loop (HttpClient), so a relayed request never changes threads: no wake-up of another
// thread, no lock held across threads, connection pools per loop.
//
// Shutdown: stop() ends the loops (handlers not yet run never run) and joins the threads;
// the destructor then destroys what is left (suspended coroutines, pending handlers), after
// stop(). Everything that runs on a shared pool (server, client) must be destroyed after
// stop() and before the pool.
#pragma once

#include <cstddef>
#include <memory>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace socle::http {

class IoPool {
 public:
  // Starts `threads` loops (at least one), each waiting for work on its own thread.
  explicit IoPool(int threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  int size() const;
  // Stops every loop and joins its thread; idempotent. Never call it from a loop's thread.
  void stop();
  bool stopped() const;

  boost::asio::io_context& loop(int index);
  // The index of the loop that runs the calling thread, or -1 if the caller is not one of
  // this pool's threads.
  int current_loop() const;
  // Round-robin over the loops, for work that does not come from a loop (new connections).
  int next_loop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace socle::http
