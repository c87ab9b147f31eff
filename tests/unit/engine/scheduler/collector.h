// A SequenceSink that collects one sequence's output for the runner's tests, and the
// bitwise comparison of two outputs.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/scheduler/runner.h"

namespace socle::engine::testing {

using scheduler::FinishReason;
using scheduler::SequenceSink;

// Collects one sequence's output and lets the test wait for its end.
class Collector final : public SequenceSink {
 public:
  explicit Collector(int64_t stop_after = -1) : stop_after_(stop_after) {}

  void on_prompt_logprobs(std::span<const sampling::Sample> samples) override {
    std::lock_guard lock(mu_);
    EXPECT_TRUE(samples_.empty()) << "the prompt's log-probabilities come before any token";
    prompt_samples_.assign(samples.begin(), samples.end());
    ++prompt_calls_;
  }
  bool on_token(const sampling::Sample& s) override {
    std::lock_guard lock(mu_);
    samples_.push_back(s);
    return stop_after_ < 0 || static_cast<int64_t>(samples_.size()) < stop_after_;
  }
  void on_finish(FinishReason reason, int64_t generated) override {
    std::lock_guard lock(mu_);
    reason_ = reason;
    generated_ = generated;
    done_ = true;
    cv_.notify_all();
  }
  // Waits for the end (bounded, so that a scheduler bug fails the test instead of hanging).
  bool wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(120), [this] { return done_; });
  }
  std::vector<sampling::Sample> samples() const {
    std::lock_guard lock(mu_);
    return samples_;
  }
  std::vector<sampling::Sample> prompt_samples() const {
    std::lock_guard lock(mu_);
    return prompt_samples_;
  }
  int prompt_calls() const {
    std::lock_guard lock(mu_);
    return prompt_calls_;
  }
  FinishReason reason() const {
    std::lock_guard lock(mu_);
    return reason_;
  }
  int64_t generated() const {
    std::lock_guard lock(mu_);
    return generated_;
  }

 private:
  int64_t stop_after_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<sampling::Sample> samples_;
  std::vector<sampling::Sample> prompt_samples_;
  int prompt_calls_ = 0;
  FinishReason reason_ = FinishReason::ERROR;
  int64_t generated_ = -1;
  bool done_ = false;
};

inline void expect_same(const std::vector<sampling::Sample>& a,
                        const std::vector<sampling::Sample>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].token, b[i].token) << what << " token " << i;
    ASSERT_EQ(a[i].logprob, b[i].logprob) << what << " logprob " << i;  // bitwise
    ASSERT_EQ(a[i].top.size(), b[i].top.size()) << what;
    for (size_t k = 0; k < a[i].top.size(); ++k) {
      ASSERT_EQ(a[i].top[k].token, b[i].top[k].token) << what;
      ASSERT_EQ(a[i].top[k].logprob, b[i].top[k].logprob) << what;
    }
  }
}

// The runner's counters once it is idle with at least `ended` sequences finished or
// cancelled: a sink hears of its end before the scheduler publishes the step's counters, and
// a sequence just submitted shows nowhere until the next publication, so poll (bounded) for
// the step that ended it to publish them.
inline scheduler::RunnerStats idle_stats(const scheduler::Runner& runner, int64_t ended = 0) {
  auto busy = [ended](const scheduler::RunnerStats& st) {
    return st.running > 0 || st.waiting > 0 || st.blocks.used > 0 ||
           st.finished + st.cancelled < ended;
  };
  scheduler::RunnerStats st = runner.stats();
  for (int i = 0; i < 1000 && busy(st); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    st = runner.stats();
  }
  return st;
}

}  // namespace socle::engine::testing
