// A fixed set of threads that runs one loop at a time, split into contiguous ranges (one per
// thread, or claimed in turn by whichever thread is free): the matmuls split their output
// rows over it. Each index is handled by exactly one thread with the same code whatever the
// thread count, so results never depend on how many threads ran or which ran what.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace socle::engine {

class ThreadPool {
 public:
  // `n_threads` >= 1 threads in all, the caller of parallel_for being one of them.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint ranges covering [0, n), each of at least `grain`
  // indexes (but the last), at most one range per thread, and returns when all are done.
  // One loop at a time: callers on several threads take turns.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // Calls fn(begin, end) on the ranges [k * chunk, (k + 1) * chunk) of [0, n) (the last one
  // cut at n), which the threads claim one after another until none is left: a thread that
  // runs ahead takes more of them. For loops whose ranges take uneven time (weights streamed
  // from memory) and whose results do not depend on which thread ran a range.
  void parallel_for_claimed(int64_t n, int64_t chunk,
                            const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker(int index);
  void run(int64_t n, int64_t chunk, bool claimed, const std::function<void(int64_t, int64_t)>& fn);
  // Claims ranges of the current claimed loop until none is left.
  void claim_ranges(const std::function<void(int64_t, int64_t)>& fn, int64_t n, int64_t chunk);

  std::mutex run_mutex_;  // one loop at a time
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;  // guarded by mutex_
  int64_t n_ = 0;                                              // guarded by mutex_
  int64_t chunk_ = 0;                                          // guarded by mutex_
  bool claimed_ = false;                                       // guarded by mutex_
  uint64_t generation_ = 0;                                    // guarded by mutex_
  int pending_ = 0;                                            // guarded by mutex_
  bool stop_ = false;                                          // guarded by mutex_
  std::atomic<uint64_t> published_{0};  // generation_, for workers that wait awake
  std::atomic<int> running_{0};         // workers still in the current loop
  std::atomic<int64_t> next_{0};        // a claimed loop's next unclaimed index
  std::vector<std::thread> workers_;
};

// The pool the models use: SOCLE_THREADS threads if set (>= 1), else one per hardware
// thread, created at the first call.
ThreadPool& default_thread_pool();

}  // namespace socle::engine
