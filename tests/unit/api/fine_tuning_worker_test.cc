// The fine-tuning worker's state machine around training (training itself, on a real model,
// is covered end to end by tests/e2e/fine_tuning_sdk.test.mjs and, across a kill -9, by
// tests/integration/fine_tuning_kill.test.mjs): at start it queues the jobs a stop left
// unfinished and leaves finished ones alone; a job whose base model is not served fails with
// OpenAI's error object naming `model`, and says so in its events; a job cancelled while
// queued is never run; a succeeded job whose base model is gone is not served.
#include "api/fine_tuning_worker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "api/services.h"
#include "http/io_pool.h"
#include "tenancy/audit_key.h"

namespace socle::api {
namespace {

using store::FineTuneStatus;

class FineTuningWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("socle-ftw-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    config_.data_dir = dir_.string();
    auto s = store::open_sqlite_store((dir_ / "socle.db").string(), clock_);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(s).value();
    store::Actor sys = store::Actor::system();
    auto org = *store_->orgs().create(sys, "ministry");
    auto role = *store_->roles().create(sys, "trainer", {"fine_tune"});
    alice_ = *store_->users().create(sys, {org.id, role.id, "alice", ""});
    audit_ = std::make_unique<tenancy::AuditLog>(
        *store_, std::string(tenancy::AUDIT_KEY_BYTES, 'k'), clock_);
    keys_ = std::make_unique<tenancy::KeyCache>(*store_, clock_);
    registry_ = std::make_unique<providers::Registry>(std::vector<providers::ModelSpec>{},
                                                      providers::BreakerSettings{}, clock_);
    client_ = http::HttpClient::create({}, &io_);
    limiter_ = std::make_unique<tenancy::Limiter>(clock_);
    services_ =
        std::make_unique<Services>(Services{config_, *store_, *keys_, clock_, metrics_, *registry_,
                                            *client_, usage_, *audit_, *limiter_});
  }
  void TearDown() override {
    services_.reset();
    io_.stop();
    client_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  store::FineTuneJob job_in(FineTuneStatus status, const std::string& model) {
    store::FineTuneJob j;
    j.model = model;
    j.training_file = 1;
    j.seed = 3;
    j.status = status;
    if (status == FineTuneStatus::SUCCEEDED) {
      j.fine_tuned_model = "ft:" + model + "::x";
      j.result_dir = (dir_ / "gone").string();
    }
    auto made = store_->fine_tuning().create(store::Actor::user(alice_.id, alice_.org_id), j);
    EXPECT_TRUE(made.is_ok()) << made.status().message();
    return *made;
  }

  // Polls the store until the job is final (the worker runs on its own thread).
  store::FineTuneJob wait_final(store::Id id) {
    for (int i = 0; i < 2000; ++i) {
      auto j = *store_->fine_tuning().get(store::Actor::system(), id);
      if (j.status == FineTuneStatus::FAILED || j.status == FineTuneStatus::SUCCEEDED ||
          j.status == FineTuneStatus::CANCELLED) {
        return j;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "job " << id << " never finished";
    return {};
  }

  std::filesystem::path dir_;
  Config config_;
  ManualClock clock_{1'800'000'000};
  std::unique_ptr<store::Store> store_;
  store::User alice_;
  std::unique_ptr<tenancy::AuditLog> audit_;
  std::unique_ptr<tenancy::KeyCache> keys_;
  std::unique_ptr<providers::Registry> registry_;
  http::IoPool io_{1};
  std::unique_ptr<http::HttpClient> client_;
  std::unique_ptr<tenancy::Limiter> limiter_;
  HttpMetrics metrics_;
  tenancy::UsageFanout usage_{{}};
  std::unique_ptr<Services> services_;
};

TEST_F(FineTuningWorkerTest, RestartQueuesUnfinishedJobsAndFailsThoseWithoutTheirModel) {
  store::FineTuneJob validating = job_in(FineTuneStatus::VALIDATING_FILES, "llama");
  store::FineTuneJob running = job_in(FineTuneStatus::RUNNING, "llama");
  store::FineTuneJob cancelled = job_in(FineTuneStatus::CANCELLED, "llama");
  store::FineTuneJob succeeded = job_in(FineTuneStatus::SUCCEEDED, "llama");

  FineTuningWorker worker(*services_);
  ASSERT_TRUE(worker.start().is_ok());
  for (const store::FineTuneJob& j : {validating, running}) {
    store::FineTuneJob done = wait_final(j.id);
    EXPECT_EQ(done.status, FineTuneStatus::FAILED);
    auto error = boost::json::parse(done.error).as_object();
    EXPECT_EQ(error.at("code"), "invalid_model");
    EXPECT_EQ(error.at("param"), "model");
    EXPECT_NE(error.at("message").as_string().find("'llama'"), std::string::npos);
    EXPECT_EQ(done.finished_at, 1'800'000'000);
    EXPECT_TRUE(done.fine_tuned_model.empty());
    auto events = *store_->fine_tuning().events(store::Actor::system(), j.id, 0, 10);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].level, "error");
  }
  worker.stop();
  EXPECT_EQ(store_->fine_tuning().get(store::Actor::system(), cancelled.id)->status,
            FineTuneStatus::CANCELLED);
  EXPECT_TRUE(store_->fine_tuning().events(store::Actor::system(), cancelled.id, 0, 10)->empty());
  // Its base model is not served: the succeeded job's model is not either.
  EXPECT_EQ(registry_->adapters().find(succeeded.fine_tuned_model), nullptr);
  EXPECT_EQ(store_->fine_tuning().get(store::Actor::system(), succeeded.id)->status,
            FineTuneStatus::SUCCEEDED);
}

TEST_F(FineTuningWorkerTest, AJobCancelledWhileQueuedNeverRuns) {
  FineTuningWorker worker(*services_);
  store::FineTuneJob j = job_in(FineTuneStatus::VALIDATING_FILES, "llama");
  j.status = FineTuneStatus::CANCELLED;
  ASSERT_TRUE(store_->fine_tuning()
                  .update(store::Actor::user(alice_.id, alice_.org_id), j,
                          {FineTuneStatus::VALIDATING_FILES})
                  .is_ok());
  worker.cancelled(j.id);
  worker.enqueue(j.id);
  // A job after it in the queue: once it has failed, the cancelled one has been passed over.
  store::FineTuneJob next = job_in(FineTuneStatus::VALIDATING_FILES, "other");
  ASSERT_TRUE(worker.start().is_ok());
  worker.enqueue(next.id);
  EXPECT_EQ(wait_final(next.id).status, FineTuneStatus::FAILED);
  worker.stop();
  auto after = *store_->fine_tuning().get(store::Actor::system(), j.id);
  EXPECT_EQ(after.status, FineTuneStatus::CANCELLED);
  EXPECT_TRUE(after.error.empty());
  EXPECT_TRUE(store_->fine_tuning().events(store::Actor::system(), j.id, 0, 10)->empty());
}

}  // namespace
}  // namespace socle::api
