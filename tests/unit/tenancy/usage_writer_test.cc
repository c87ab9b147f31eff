// The usage writer and the energy estimate. The writer runs against an in-memory UsageStore
// that can be told to fail; the timer is set far beyond any test's length, so every write
// here is caused by a full batch, flush() or stop(), never by the clock.
#include "tenancy/usage_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace socle::tenancy {
namespace {

// A timer that never fires during a test: writes come from batches, flush() and stop().
constexpr int64_t NEVER_MS = 3'600'000;

class MemoryUsageStore final : public store::UsageStore {
 public:
  Status append(const store::Actor& actor, const std::vector<store::UsageEntry>& entries) override {
    std::lock_guard lock(mu_);
    ++attempts_;
    if (failing_) return unavailable("the test store is down");
    EXPECT_TRUE(actor.all_tenants) << "the writer appends as the system actor";
    batches_.push_back(entries);
    return Status::ok();
  }
  Result<std::vector<store::UsageEntry>> list(const store::Actor&,
                                              const store::UsageQuery&) override {
    return internal_error("not used by the writer");
  }
  Result<std::vector<store::UsageTotal>> totals(const store::Actor&, const store::UsageQuery&,
                                                const std::vector<store::UsageGroup>&) override {
    return internal_error("not used by the writer");
  }
  Result<int64_t> remove_before(const store::Actor&, int64_t) override {
    return internal_error("not used by the writer");
  }

  void set_failing(bool failing) {
    std::lock_guard lock(mu_);
    failing_ = failing;
  }
  std::vector<size_t> batch_sizes() const {
    std::lock_guard lock(mu_);
    std::vector<size_t> out;
    for (const auto& b : batches_)
      out.push_back(b.size());
    return out;
  }
  std::vector<store::UsageEntry> all() const {
    std::lock_guard lock(mu_);
    std::vector<store::UsageEntry> out;
    for (const auto& b : batches_)
      out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  int attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::vector<store::UsageEntry>> batches_;
  bool failing_ = false;
  int attempts_ = 0;
};

UsageRecord record_n(int64_t n, const std::string& model = "small") {
  UsageRecord r;
  r.time_ms = 1'800'000'000'000 + n;
  r.request_id = "req-" + std::to_string(n);
  r.user_id = 7;
  r.key_id = 70;
  r.org_id = 1;
  r.model = model;
  r.provider = "local";
  r.endpoint = "/v1/chat/completions";
  r.status = 200;
  r.prompt_tokens = 600;
  r.completion_tokens = 400;
  r.latency_s = 1.5;
  r.first_token_s = 0.25;
  r.attempts = 1;
  return r;
}

UsageWriterSettings settings(size_t capacity, size_t batch_size) {
  UsageWriterSettings s;
  s.capacity = capacity;
  s.batch_size = batch_size;
  s.flush_ms = NEVER_MS;
  s.max_retry_ms = NEVER_MS;
  return s;
}

// 7 billion parameters for "small", unknown otherwise.
double params_of(const std::string& model) {
  return model == "small" ? 7.0 : 0.0;
}

TEST(Energy, HandComputedNumbers) {
  EnergySettings s;  // 2.5e-12 J/FLOP, PUE 1.2, 56 gCO2/kWh
  // 7e9 parameters, 1000 tokens: 2 * 7e9 * 1000 = 1.4e13 FLOPs; x 2.5e-12 = 35 J;
  // x 1.2 = 42 J = 42 / 3.6e6 kWh = 1.1666...e-5 kWh; x 56 = 6.5333...e-4 g.
  EXPECT_DOUBLE_EQ(inference_flops(7, 600, 400), 1.4e13);
  EnergyEstimate e = estimate_energy(7, 600, 400, s);
  EXPECT_NEAR(e.kwh, 42.0 / 3.6e6, 1e-20);
  EXPECT_NEAR(e.co2_g, 42.0 / 3.6e6 * 56, 1e-18);
  EXPECT_NEAR(e.co2_g, 6.5333333e-4, 1e-10);

  // 70e9 parameters, 1 token, 1e-11 J/FLOP, PUE 1.5, 400 g/kWh:
  // 1.4e11 FLOPs x 1e-11 = 1.4 J; x 1.5 = 2.1 J = 5.8333...e-7 kWh; x 400 = 2.3333...e-4 g.
  EnergySettings other{1e-11, 1.5, 400};
  EnergyEstimate big = estimate_energy(70, 1, 0, other);
  EXPECT_NEAR(big.kwh, 5.8333333333e-7, 1e-16);
  EXPECT_NEAR(big.co2_g, 2.3333333333e-4, 1e-13);
}

TEST(Energy, UnknownModelsAndEmptyRequestsCostNothing) {
  EnergySettings s;
  for (double params : {0.0, -1.0, std::nan("")}) {
    EnergyEstimate e = estimate_energy(params, 100, 100, s);
    EXPECT_EQ(e.kwh, 0.0) << params;
    EXPECT_EQ(e.co2_g, 0.0) << params;
  }
  EXPECT_EQ(estimate_energy(7, 0, 0, s).kwh, 0.0);
  EXPECT_EQ(inference_flops(7, -5, 10), 2 * 7e9 * 10) << "a negative count counts as 0";
}

TEST(Energy, SettingsAreChecked) {
  EXPECT_TRUE(check_energy_settings({}).is_ok());
  EXPECT_EQ(check_energy_settings({0, 1.2, 56}).param(), "energy.joules_per_flop");
  EXPECT_EQ(check_energy_settings({2.5e-12, 0.9, 56}).param(), "energy.pue");
  EXPECT_EQ(check_energy_settings({2.5e-12, 1.2, -1}).param(), "energy.grid_gco2_per_kwh");
  EXPECT_TRUE(check_energy_settings({2.5e-12, 1.0, 0}).is_ok()) << "a carbon-free grid";
}

TEST(UsageWriter, ConvertsRecordsAndAddsTheEnergyEstimate) {
  MemoryUsageStore store;
  UsageWriter w(store, params_of, settings(100, 100));
  w.record(record_n(1));
  w.record(record_n(2, "unknown"));
  ASSERT_TRUE(w.flush().is_ok());
  std::vector<store::UsageEntry> rows = store.all();
  ASSERT_EQ(rows.size(), 2u);
  const store::UsageEntry& e = rows[0];
  EXPECT_EQ(e.id, 0) << "the store assigns ids";
  EXPECT_EQ(e.time, 1'800'000'000'001);
  EXPECT_EQ(e.request_id, "req-1");
  EXPECT_EQ(e.user_id, 7);
  EXPECT_EQ(e.key_id, 70);
  EXPECT_EQ(e.org_id, 1);
  EXPECT_EQ(e.model, "small");
  EXPECT_EQ(e.provider, "local");
  EXPECT_EQ(e.endpoint, "/v1/chat/completions");
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(e.prompt_tokens, 600);
  EXPECT_EQ(e.completion_tokens, 400);
  EXPECT_DOUBLE_EQ(e.latency_ms, 1500.0);
  EXPECT_DOUBLE_EQ(e.first_token_ms, 250.0);
  EXPECT_NEAR(e.energy_kwh, 42.0 / 3.6e6, 1e-20);  // as in Energy.HandComputedNumbers
  EXPECT_NEAR(e.co2_g, 42.0 / 3.6e6 * 56, 1e-18);
  EXPECT_EQ(rows[1].energy_kwh, 0.0) << "unknown size: no estimate";
  EXPECT_EQ(rows[1].co2_g, 0.0);
}

TEST(UsageWriter, WritesFullBatchesThenTheRestOnFlush) {
  MemoryUsageStore store;
  UsageWriter w(store, params_of, settings(100, 3));
  for (int i = 0; i < 7; ++i)
    w.record(record_n(i));
  ASSERT_TRUE(w.flush().is_ok());
  EXPECT_EQ(store.batch_sizes(), (std::vector<size_t>{3, 3, 1}));
  std::vector<store::UsageEntry> rows = store.all();
  ASSERT_EQ(rows.size(), 7u);
  for (int i = 0; i < 7; ++i)
    EXPECT_EQ(rows[static_cast<size_t>(i)].request_id, "req-" + std::to_string(i)) << "in order";
  UsageWriterCounters c = w.counters();
  EXPECT_EQ(c.written, 7);
  EXPECT_EQ(c.pending, 0);
  EXPECT_EQ(c.dropped, 0);
  EXPECT_EQ(c.failed_appends, 0);
  EXPECT_TRUE(w.flush().is_ok()) << "nothing queued: returns at once";
}

TEST(UsageWriter, AFailingStoreKeepsTheRecordsAndTheyAreWrittenOnceItRecovers) {
  MemoryUsageStore store;
  store.set_failing(true);
  UsageWriter w(store, params_of, settings(100, 100));
  for (int i = 0; i < 3; ++i)
    w.record(record_n(i));
  Status s = w.flush();
  EXPECT_EQ(s.code(), StatusCode::UNAVAILABLE);
  EXPECT_NE(s.message().find("the test store is down"), std::string::npos) << s.message();
  UsageWriterCounters c = w.counters();
  EXPECT_EQ(c.written, 0);
  EXPECT_EQ(c.pending, 3);
  EXPECT_EQ(c.failed_appends, 1);

  // More records arrive while the store is down; a second flush fails again.
  w.record(record_n(3));
  EXPECT_FALSE(w.flush().is_ok());
  EXPECT_EQ(w.counters().pending, 4);
  EXPECT_EQ(w.counters().failed_appends, 2);

  store.set_failing(false);
  ASSERT_TRUE(w.flush().is_ok());
  c = w.counters();
  EXPECT_EQ(c.written, 4);
  EXPECT_EQ(c.pending, 0);
  EXPECT_EQ(c.dropped, 0);
  std::vector<store::UsageEntry> rows = store.all();
  ASSERT_EQ(rows.size(), 4u);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(rows[static_cast<size_t>(i)].request_id, "req-" + std::to_string(i));
  // The failed batch was retried whole, then the record that came after it.
  EXPECT_EQ(store.batch_sizes(), (std::vector<size_t>{3, 1}));
}

TEST(UsageWriter, AFullQueueDropsNewRecordsWithoutBlocking) {
  MemoryUsageStore store;
  UsageWriter w(store, params_of, settings(4, 100));
  for (int i = 0; i < 6; ++i)
    w.record(record_n(i));  // the batch never fills and the timer never fires
  UsageWriterCounters c = w.counters();
  EXPECT_EQ(c.pending, 4);
  EXPECT_EQ(c.dropped, 2);
  EXPECT_EQ(store.attempts(), 0);
  ASSERT_TRUE(w.flush().is_ok());
  std::vector<store::UsageEntry> rows = store.all();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows.back().request_id, "req-3") << "the newest records were the ones dropped";
  w.record(record_n(6));  // room again
  ASSERT_TRUE(w.flush().is_ok());
  EXPECT_EQ(w.counters().written, 5);
  EXPECT_EQ(w.counters().dropped, 2);
}

TEST(UsageWriter, StopWritesWhatIsQueuedAndRefusesLaterRecords) {
  MemoryUsageStore store;
  UsageWriter w(store, params_of, settings(100, 100));
  for (int i = 0; i < 5; ++i)
    w.record(record_n(i));
  w.stop();
  EXPECT_EQ(store.all().size(), 5u);
  w.record(record_n(5));
  UsageWriterCounters c = w.counters();
  EXPECT_EQ(c.written, 5);
  EXPECT_EQ(c.dropped, 1);
  EXPECT_EQ(w.flush().code(), StatusCode::FAILED_PRECONDITION);
  w.stop();  // idempotent
}

TEST(UsageWriter, TheDestructorStops) {
  MemoryUsageStore store;
  {
    UsageWriter w(store, params_of, settings(100, 100));
    w.record(record_n(1));
  }
  EXPECT_EQ(store.all().size(), 1u);
}

TEST(UsageWriter, StoppingWithTheStoreDownCountsTheLostRecords) {
  MemoryUsageStore store;
  store.set_failing(true);
  UsageWriter w(store, params_of, settings(100, 2));
  for (int i = 0; i < 5; ++i)
    w.record(record_n(i));
  w.stop();
  UsageWriterCounters c = w.counters();
  EXPECT_EQ(c.written, 0);
  EXPECT_EQ(c.pending, 0);
  EXPECT_EQ(c.dropped, 5);
}

TEST(UsageWriter, SettingsAreChecked) {
  EXPECT_TRUE(check_usage_writer_settings({}).is_ok());
  UsageWriterSettings s;
  s.flush_ms = 0;
  EXPECT_EQ(check_usage_writer_settings(s).param(), "usage.flush_ms");
  s = {};
  s.batch_size = 0;
  EXPECT_FALSE(check_usage_writer_settings(s).is_ok());
  s = {};
  s.energy.pue = 0.5;
  EXPECT_EQ(check_usage_writer_settings(s).param(), "energy.pue");
}

TEST(UsageWriter, RecordsFromManyThreadsAreAllWritten) {
  MemoryUsageStore store;
  UsageWriter w(store, params_of, settings(10'000, 16));
  constexpr int THREADS = 4;
  constexpr int PER_THREAD = 250;
  std::vector<std::thread> threads;
  threads.reserve(THREADS);
  for (int t = 0; t < THREADS; ++t) {
    threads.emplace_back([&w, t] {
      for (int i = 0; i < PER_THREAD; ++i)
        w.record(record_n(t * PER_THREAD + i));
    });
  }
  for (auto& t : threads)
    t.join();
  ASSERT_TRUE(w.flush().is_ok());
  EXPECT_EQ(store.all().size(), static_cast<size_t>(THREADS * PER_THREAD));
  EXPECT_EQ(w.counters().written, THREADS * PER_THREAD);
  for (size_t n : store.batch_sizes())
    EXPECT_LE(n, 16u);
}

TEST(UsageFanout, EverySinkGetsEveryRecord) {
  struct Counting final : UsageSink {
    void record(const UsageRecord&) override { ++n; }
    int n = 0;
  };
  Counting a, b;
  UsageFanout fan({&a, &b});
  fan.record(record_n(1));
  fan.record(record_n(2));
  EXPECT_EQ(a.n, 2);
  EXPECT_EQ(b.n, 2);
}

}  // namespace
}  // namespace socle::tenancy
