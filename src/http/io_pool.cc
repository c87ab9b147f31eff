#include "http/io_pool.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "base/check.h"

namespace socle::http {
namespace {

namespace asio = boost::asio;

// How far ahead each loop keeps a timer pending. Asio re-arms its timerfd (a system call)
// whenever a new timer becomes the earliest; the HTTP timeouts (seconds to minutes) are
// armed several times a request, and without an earlier timer each arm would be the
// earliest whenever few requests are in flight: five calls a relayed request at one
// connection. The floor costs one wake-up and one re-arm a second per loop.
constexpr auto TIMER_FLOOR = std::chrono::seconds(1);

// An io_context for one thread. The concurrency hint 1 lets a handler's posts to its own
// loop go to a thread-private queue, without the lock and the wake-up of the general
// path; posts from other threads still take the locked path and are safe.
class Loop : public asio::io_context {
 public:
  Loop() : asio::io_context(1), floor_(*this) { hold_timer_floor(); }
  // Destroys the pending handlers (and the coroutines they hold) while the object lives,
  // so that one loop's handlers may still post to another during teardown.
  using asio::execution_context::shutdown;

 private:
  void hold_timer_floor() {
    floor_.expires_after(TIMER_FLOOR);
    floor_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) hold_timer_floor();
    });
  }

  // On this loop's own executor type: no type-erased executor to compare on each wait.
  asio::basic_waitable_timer<std::chrono::steady_clock,
                             asio::wait_traits<std::chrono::steady_clock>,
                             asio::io_context::executor_type>
      floor_;  // always pending, TIMER_FLOOR ahead at most
};

// Which pool and loop the calling thread runs, if any.
thread_local const IoPool::Impl* t_pool = nullptr;
thread_local int t_loop = -1;

}  // namespace

struct IoPool::Impl {
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::atomic<size_t> next{0};
  std::atomic<bool> stopped{false};
};

IoPool::IoPool(int threads) : impl_(std::make_unique<Impl>()) {
  int n = std::max(1, threads);
  for (int i = 0; i < n; ++i) {
    impl_->loops.push_back(std::make_unique<Loop>());
    impl_->work.push_back(asio::make_work_guard(*impl_->loops.back()));
  }
  for (int i = 0; i < n; ++i) {
    impl_->threads.emplace_back([impl = impl_.get(), i] {
      t_pool = impl;
      t_loop = i;
      impl->loops[static_cast<size_t>(i)]->run();
    });
  }
}

IoPool::~IoPool() {
  stop();
  // Destroys every loop's pending handlers first, then the loops: a handler destroyed here
  // may post to its own loop (the same pass destroys that too) or to a loop not torn down
  // yet. Socle's handlers post across loops only what owns no I/O object.
  for (auto& loop : impl_->loops)
    loop->shutdown();
  impl_->loops.clear();
}

int IoPool::size() const {
  return static_cast<int>(impl_->loops.size());
}

void IoPool::stop() {
  if (impl_->stopped.exchange(true)) return;
  SOCLE_CHECK(t_pool != impl_.get(),
              "a loop of the pool cannot stop the pool: it would join itself");
  impl_->work.clear();
  for (auto& loop : impl_->loops)
    loop->stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
}

bool IoPool::stopped() const {
  return impl_->stopped.load();
}

asio::io_context& IoPool::loop(int index) {
  return *impl_->loops.at(static_cast<size_t>(index));
}

int IoPool::current_loop() const {
  return t_pool == impl_.get() ? t_loop : -1;
}

int IoPool::next_loop() {
  return static_cast<int>(impl_->next.fetch_add(1, std::memory_order_relaxed) %
                          impl_->loops.size());
}

}  // namespace socle::http
