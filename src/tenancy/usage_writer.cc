#include "tenancy/usage_writer.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <utility>

#include "base/check.h"
#include "base/log.h"

namespace socle::tenancy {
namespace {

constexpr double MS_PER_SECOND = 1000.0;

store::UsageEntry to_entry(const UsageRecord& r) {
  store::UsageEntry e;
  e.time = r.time_ms;
  e.request_id = r.request_id;
  e.user_id = r.user_id;
  e.key_id = r.key_id;
  e.org_id = r.org_id;
  e.model = r.model;
  e.provider = r.provider;
  e.endpoint = r.endpoint;
  e.status = r.status;
  e.prompt_tokens = r.prompt_tokens;
  e.completion_tokens = r.completion_tokens;
  e.latency_ms = r.latency_s * MS_PER_SECOND;
  e.first_token_ms = r.first_token_s * MS_PER_SECOND;
  return e;
}

// Fills in the energy estimate; one parameter lookup per model per batch.
void price(std::vector<store::UsageEntry>& batch, const ModelParamsFn& model_params,
           const EnergySettings& energy) {
  std::unordered_map<std::string, double> params;
  for (store::UsageEntry& e : batch) {
    auto it = params.find(e.model);
    if (it == params.end()) {
      it = params.emplace(e.model, model_params ? model_params(e.model) : 0.0).first;
    }
    EnergyEstimate est = estimate_energy(it->second, e.prompt_tokens, e.completion_tokens, energy);
    e.energy_kwh = est.kwh;
    e.co2_g = est.co2_g;
  }
}

}  // namespace

Status check_usage_writer_settings(const UsageWriterSettings& s) {
  if (s.capacity < 1)
    return invalid_argument("the usage queue needs room for 1 record", "capacity");
  if (s.batch_size < 1) {
    return invalid_argument("a usage batch holds at least 1 record", "batch_size");
  }
  if (s.flush_ms < 1) {
    return invalid_argument(
        "usage.flush_ms must be at least 1 (default 500), not " + std::to_string(s.flush_ms),
        "usage.flush_ms");
  }
  if (s.max_retry_ms < s.flush_ms) {
    return invalid_argument("the longest retry delay must be at least usage.flush_ms",
                            "max_retry_ms");
  }
  return check_energy_settings(s.energy);
}

UsageWriter::UsageWriter(store::UsageStore& usage, ModelParamsFn model_params,
                         const UsageWriterSettings& settings)
    : usage_(usage), model_params_(std::move(model_params)), settings_(settings) {
  SOCLE_CHECK(check_usage_writer_settings(settings_).is_ok(),
              "the caller validated the usage writer settings (check_usage_writer_settings)");
  thread_ = std::thread([this] { run(); });
}

UsageWriter::~UsageWriter() {
  stop();
}

void UsageWriter::record(const UsageRecord& record) {
  store::UsageEntry entry = to_entry(record);  // the copies happen outside the lock
  bool start_dropping = false;
  bool stopping = false;
  bool wake = false;
  int64_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
    if (stopping_ || queue_.size() >= settings_.capacity) {
      dropped = ++dropped_;
      start_dropping = !dropping_;
      dropping_ = true;
    } else {
      queue_.push_back(std::move(entry));
      ++accepted_;
      dropping_ = false;
      // Exactly at the threshold: one wake-up per batch, not one per record.
      wake = queue_.size() == settings_.batch_size;
    }
  }
  if (wake) wake_writer_.notify_one();
  if (!start_dropping) return;
  // Once per run of drops: a full queue drops thousands of records a second.
  if (stopping) {
    log::warn("usage record after the usage writer stopped: dropped", {{"dropped", dropped}});
  } else {
    log::warn("usage queue full: dropping usage records until the store catches up",
              {{"capacity", settings_.capacity}, {"dropped", dropped}});
  }
}

Status UsageWriter::flush() {
  std::unique_lock lock(mu_);
  if (stopping_) {
    return {StatusCode::FAILED_PRECONDITION, "the usage writer has stopped; nothing to flush"};
  }
  const int64_t target = accepted_;
  if (written_ >= target) return Status::ok();
  const int64_t failures = failed_appends_;
  flush_target_ = std::max(flush_target_, target);
  wake_writer_.notify_one();
  // Records are written in the order they were accepted, so written_ reaching the count
  // accepted before this call means every one of them is stored.
  progress_.wait(lock,
                 [&] { return written_ >= target || failed_appends_ != failures || stopped_; });
  if (written_ >= target) return Status::ok();
  if (failed_appends_ != failures) {
    return {last_error_.code(),
            "usage records are not stored yet (they stay queued and are "
            "retried): " +
                last_error_.message()};
  }
  return {StatusCode::FAILED_PRECONDITION, "the usage writer stopped before the flush ended"};
}

void UsageWriter::stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_writer_.notify_one();
    thread_.join();
  });
}

UsageWriterCounters UsageWriter::counters() const {
  std::lock_guard lock(mu_);
  return {written_, dropped_, static_cast<int64_t>(queue_.size()) + held_, failed_appends_};
}

std::vector<store::UsageEntry> UsageWriter::take_batch_locked() {
  size_t n = std::min(queue_.size(), settings_.batch_size);
  std::vector<store::UsageEntry> batch;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  held_ = static_cast<int64_t>(n);
  return batch;
}

bool UsageWriter::must_write_locked(bool holding_batch) const {
  if (stopping_) return true;
  bool have_work = holding_batch || !queue_.empty();
  if (flush_target_ > written_ && have_work) return true;
  // A failed batch waits for its retry delay even when the queue fills up behind it.
  return !holding_batch && queue_.size() >= settings_.batch_size;
}

void UsageWriter::run() {
  std::vector<store::UsageEntry> batch;  // kept across failed appends until stored
  int64_t retry_ms = 0;                  // the current retry delay; 0 while the store is up
  int64_t lost_at_stop = 0;              // records the store refused during stop()
  std::string lost_error;
  std::unique_lock lock(mu_);
  while (true) {
    int64_t wait_ms = batch.empty() ? settings_.flush_ms : retry_ms;
    wake_writer_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                          [&] { return must_write_locked(!batch.empty()); });
    const bool stopping = stopping_;
    bool fresh = false;
    if (batch.empty()) {
      batch = take_batch_locked();
      fresh = !batch.empty();
    }
    if (batch.empty()) {
      if (stopping) break;
      continue;
    }
    const auto n = static_cast<int64_t>(batch.size());
    lock.unlock();
    if (fresh) price(batch, model_params_, settings_.energy);
    Status s = usage_.append(store::Actor::system(), batch);
    lock.lock();
    if (s.is_ok()) {
      written_ += n;
      held_ = 0;
      batch.clear();
      progress_.notify_all();
      if (retry_ms != 0) {
        retry_ms = 0;
        lock.unlock();  // never log under the lock that record() takes
        log::info("usage writes resumed", {{"records", n}});
        lock.lock();
      }
      continue;
    }
    ++failed_appends_;
    last_error_ = s;
    // The flushes waiting now get this error; retrying at once for them would hammer a
    // store that is down.
    flush_target_ = written_;
    progress_.notify_all();
    if (stopping) {
      lost_at_stop = n + static_cast<int64_t>(queue_.size());
      lost_error = s.message();
      dropped_ += lost_at_stop;
      queue_.clear();
      held_ = 0;
      break;
    }
    retry_ms = retry_ms == 0 ? settings_.flush_ms : std::min(retry_ms * 2, settings_.max_retry_ms);
    const int64_t pending = static_cast<int64_t>(queue_.size()) + held_;
    lock.unlock();
    log::warn(
        "usage write failed; the batch is kept and retried",
        {{"error", s.message()}, {"records", n}, {"pending", pending}, {"retry_in_ms", retry_ms}});
    lock.lock();
  }
  stopped_ = true;
  progress_.notify_all();
  lock.unlock();
  if (lost_at_stop > 0) {
    log::error("usage records lost at shutdown: the store refused them",
               {{"error", lost_error}, {"records", lost_at_stop}});
  }
}

}  // namespace socle::tenancy
