#include "engine/kernels/thread_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "base/check.h"

namespace socle::engine {
namespace {

// How long a thread waits awake for the next loop (or the caller for its workers) before it
// sleeps on the condition variable.
constexpr auto SPIN = std::chrono::microseconds(200);

// Polls `busy` until it is false or SPIN has passed.
template <typename Busy>
void spin_while(const Busy& busy) {
  auto until = std::chrono::steady_clock::now() + SPIN;
  while (busy()) {
    for (int i = 0; i < 64 && busy(); ++i)
      _mm_pause();
    if (std::chrono::steady_clock::now() > until) return;
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  SOCLE_CHECK(n_threads >= 1, "a pool has at least its caller's thread");
  for (int i = 1; i < n_threads; ++i)
    workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : workers_)
    t.join();
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t threads = std::min<int64_t>(size(), (n + grain - 1) / grain);
  if (threads <= 1) {
    fn(0, n);
    return;
  }
  run(n, (n + threads - 1) / threads, false, fn);
}

void ThreadPool::parallel_for_claimed(int64_t n, int64_t chunk,
                                      const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  chunk = std::max<int64_t>(chunk, 1);
  if (size() == 1 || n <= chunk) {
    for (int64_t begin = 0; begin < n; begin += chunk)
      fn(begin, std::min(n, begin + chunk));
    return;
  }
  run(n, chunk, true, fn);
}

void ThreadPool::claim_ranges(const std::function<void(int64_t, int64_t)>& fn, int64_t n,
                              int64_t chunk) {
  for (;;) {
    int64_t begin = next_.fetch_add(chunk, std::memory_order_relaxed);
    if (begin >= n) return;
    fn(begin, std::min(n, begin + chunk));
  }
}

void ThreadPool::run(int64_t n, int64_t chunk, bool claimed,
                     const std::function<void(int64_t, int64_t)>& fn) {
  std::lock_guard one_loop(run_mutex_);
  {
    std::lock_guard lock(mutex_);
    fn_ = &fn;
    n_ = n;
    chunk_ = chunk;
    claimed_ = claimed;
    next_.store(0, std::memory_order_relaxed);
    pending_ = static_cast<int>(workers_.size());
    running_.store(pending_, std::memory_order_relaxed);
    ++generation_;
    published_.store(generation_, std::memory_order_release);
  }
  start_.notify_all();
  if (claimed) {
    claim_ranges(fn, n, chunk);
  } else {
    fn(0, std::min(n, chunk));  // the caller takes the first range
  }
  spin_while([&] { return running_.load(std::memory_order_acquire) > 0; });
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
  fn_ = nullptr;
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    int64_t begin = 0;
    int64_t end = 0;
    int64_t n = 0;
    int64_t chunk = 0;
    bool claimed = false;
    // The next loop usually follows within microseconds (a model's matmuls, one after
    // another): wait for it awake a little before sleeping, which costs a wake-up.
    spin_while([&] { return published_.load(std::memory_order_acquire) == seen; });
    {
      std::unique_lock lock(mutex_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      fn = fn_;
      n = n_;
      chunk = chunk_;
      claimed = claimed_;
      begin = std::min(n_, chunk_ * index);
      end = std::min(n_, begin + chunk_);
    }
    if (claimed) {
      claim_ranges(*fn, n, chunk);
    } else if (begin < end) {
      (*fn)(begin, end);
    }
    running_.fetch_sub(1, std::memory_order_release);
    std::lock_guard lock(mutex_);
    if (--pending_ == 0) done_.notify_one();
  }
}

ThreadPool& default_thread_pool() {
  static ThreadPool pool([] {
    const char* env = std::getenv("SOCLE_THREADS");
    int n = env != nullptr ? std::atoi(env) : 0;
    if (n < 1) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return n;
  }());
  return pool;
}

}  // namespace socle::engine
