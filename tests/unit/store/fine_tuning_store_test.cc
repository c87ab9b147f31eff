// Fine-tuning jobs are their owner's (and their organisation manager's): another user reaches
// none of them, nor their events or checkpoints; lists come newest first with a cursor; a
// status change happens only from the states the caller names, so that a cancelled job is
// never overwritten by a worker that finishes it; a checkpoint recorded again for the same
// step keeps its row.
#include <gtest/gtest.h>

#include "store_fixture.h"

namespace socle::store {
namespace {

class FineTuningStoreTest : public StoreTest {
 protected:
  FineTuneJob make(const User& who, const std::string& suffix) {
    FineTuneJob j;
    j.model = "llama";
    j.training_file = 7;
    j.suffix = suffix;
    j.seed = 42;
    j.requested = R"({"n_epochs":"auto"})";
    auto made = store_->fine_tuning().create(Actor::user(who.id, who.org_id), j);
    EXPECT_TRUE(made.is_ok()) << made.status().message();
    return *made;
  }
  Actor alice() const { return Actor::user(alice_.id, alice_.org_id); }
  Actor bob() const { return Actor::user(bob_.id, bob_.org_id); }
};

TEST_F(FineTuningStoreTest, JobsAreTheirOwnersAndTheirManagers) {
  FineTuneJob j = make(alice_, "a");
  EXPECT_EQ(j.owner_id, alice_.id);
  EXPECT_EQ(j.org_id, org_.id);
  EXPECT_EQ(j.created_at, 1'800'000'000);
  EXPECT_EQ(j.status, FineTuneStatus::VALIDATING_FILES);
  auto got = store_->fine_tuning().get(alice(), j.id);
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->requested, R"({"n_epochs":"auto"})");
  EXPECT_EQ(got->seed, 42);
  EXPECT_FALSE(got->started_at.has_value());

  EXPECT_EQ(store_->fine_tuning().get(bob(), j.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(store_->fine_tuning().list(bob(), 0, 10)->empty());
  EXPECT_EQ(store_->fine_tuning().events(bob(), j.id, 0, 10).status().code(),
            StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->fine_tuning().checkpoints(bob(), j.id, 0, 10).status().code(),
            StatusCode::NOT_FOUND);
  FineTuneJob changed = j;
  changed.status = FineTuneStatus::CANCELLED;
  EXPECT_EQ(store_->fine_tuning()
                .update(bob(), changed, {FineTuneStatus::VALIDATING_FILES})
                .status()
                .code(),
            StatusCode::NOT_FOUND);

  Actor manager = Actor::organisation(bob_.id, bob_.org_id);
  EXPECT_TRUE(store_->fine_tuning().get(manager, j.id).is_ok());
  EXPECT_TRUE(store_->fine_tuning().get(sys_, j.id).is_ok());
}

TEST_F(FineTuningStoreTest, ListsNewestFirstWithACursor) {
  std::vector<Id> ids;
  ids.reserve(5);
  for (int i = 0; i < 5; ++i)
    ids.push_back(make(alice_, "s" + std::to_string(i)).id);
  make(bob_, "other");
  auto first = *store_->fine_tuning().list(alice(), 0, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, ids[4]);
  EXPECT_EQ(first[1].id, ids[3]);
  auto rest = *store_->fine_tuning().list(alice(), first[1].id, 10);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].id, ids[2]);
  EXPECT_EQ(rest[2].id, ids[0]);
}

TEST_F(FineTuningStoreTest, UpdatesOnlyFromTheNamedStates) {
  FineTuneJob j = make(alice_, "a");
  j.status = FineTuneStatus::RUNNING;
  j.started_at = 1'800'000'005;
  j.hyperparameters = R"({"n_epochs":3})";
  auto running = store_->fine_tuning().update(sys_, j, {FineTuneStatus::VALIDATING_FILES});
  ASSERT_TRUE(running.is_ok()) << running.status().message();
  EXPECT_EQ(running->status, FineTuneStatus::RUNNING);
  EXPECT_EQ(running->started_at, 1'800'000'005);
  EXPECT_EQ(running->hyperparameters, R"({"n_epochs":3})");
  EXPECT_FALSE(running->model_deleted_at.has_value());

  FineTuneJob cancel = *running;
  cancel.status = FineTuneStatus::CANCELLED;
  ASSERT_TRUE(store_->fine_tuning()
                  .update(alice(), cancel, {FineTuneStatus::QUEUED, FineTuneStatus::RUNNING})
                  .is_ok());
  // The worker, finishing late, may not turn a cancelled job into a succeeded one.
  FineTuneJob done = *running;
  done.status = FineTuneStatus::SUCCEEDED;
  done.fine_tuned_model = "ft:llama:a:ftjob-1";
  auto late = store_->fine_tuning().update(sys_, done, {FineTuneStatus::RUNNING});
  EXPECT_EQ(late.status().code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(late.status().message().find("cancelled"), std::string::npos);
  EXPECT_EQ(store_->fine_tuning().get(sys_, j.id)->status, FineTuneStatus::CANCELLED);
  EXPECT_EQ(store_->fine_tuning().get(sys_, j.id)->fine_tuned_model, "");
}

TEST_F(FineTuningStoreTest, KeepsWhenTheModelWasDeleted) {
  FineTuneJob j = make(alice_, "a");
  j.status = FineTuneStatus::SUCCEEDED;
  j.fine_tuned_model = "ft:llama:a:ftjob-1";
  j.model_deleted_at = 1'800'000'100;
  ASSERT_TRUE(store_->fine_tuning().update(alice(), j, {FineTuneStatus::VALIDATING_FILES}).is_ok());
  auto got = *store_->fine_tuning().get(alice(), j.id);
  EXPECT_EQ(got.model_deleted_at, 1'800'000'100);
  EXPECT_EQ(got.fine_tuned_model, "ft:llama:a:ftjob-1");
}

TEST_F(FineTuningStoreTest, KeepsSharedGroupsAndResultFiles) {
  FineTuneJob j = make(alice_, "a");
  EXPECT_TRUE(store_->fine_tuning().get(alice(), j.id)->shared_groups.empty());
  j.status = FineTuneStatus::SUCCEEDED;
  j.shared_groups = {7, 3};
  j.result_files = {42};
  ASSERT_TRUE(store_->fine_tuning().update(alice(), j, {FineTuneStatus::VALIDATING_FILES}).is_ok());
  EXPECT_EQ(store_->fine_tuning().get(alice(), j.id)->shared_groups, (std::vector<Id>{7, 3}));
  EXPECT_EQ(store_->fine_tuning().get(alice(), j.id)->result_files, (std::vector<Id>{42}));
  j.shared_groups.clear();
  ASSERT_TRUE(store_->fine_tuning().update(alice(), j, {FineTuneStatus::SUCCEEDED}).is_ok());
  EXPECT_TRUE(store_->fine_tuning().get(alice(), j.id)->shared_groups.empty());
}

TEST_F(FineTuningStoreTest, FindsJobsByStatusOldestFirst) {
  FineTuneJob a = make(alice_, "a");
  FineTuneJob b = make(bob_, "b");
  FineTuneJob c = make(alice_, "c");
  c.status = FineTuneStatus::SUCCEEDED;
  ASSERT_TRUE(store_->fine_tuning().update(sys_, c, {FineTuneStatus::VALIDATING_FILES}).is_ok());
  auto pending = *store_->fine_tuning().with_status(
      sys_, {FineTuneStatus::VALIDATING_FILES, FineTuneStatus::QUEUED, FineTuneStatus::RUNNING});
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id, a.id);
  EXPECT_EQ(pending[1].id, b.id);
  auto done = *store_->fine_tuning().with_status(sys_, {FineTuneStatus::SUCCEEDED});
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, c.id);
}

TEST_F(FineTuningStoreTest, EventsNewestFirstAndCheckpointsByStep) {
  FineTuneJob j = make(alice_, "a");
  for (int i = 0; i < 4; ++i) {
    FineTuneEvent e;
    e.job_id = j.id;
    e.message = "step " + std::to_string(i);
    e.data = R"({"step":)" + std::to_string(i) + "}";
    ASSERT_TRUE(store_->fine_tuning().add_event(sys_, e).is_ok());
  }
  auto events = *store_->fine_tuning().events(alice(), j.id, 0, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].message, "step 3");
  EXPECT_EQ(events[0].level, "info");
  auto older = *store_->fine_tuning().events(alice(), j.id, events[2].id, 10);
  ASSERT_EQ(older.size(), 1u);
  EXPECT_EQ(older[0].message, "step 0");

  FineTuneCheckpoint k;
  k.job_id = j.id;
  k.dir = "/x";
  k.model_name = "ft:llama:a:ftjob-1:ckpt-step-1";
  k.step = 1;
  k.metrics = R"({"train_loss":2})";
  FineTuneCheckpoint first = *store_->fine_tuning().add_checkpoint(sys_, k);
  k.step = 2;
  FineTuneCheckpoint second = *store_->fine_tuning().add_checkpoint(sys_, k);
  k.step = 1;
  k.metrics = R"({"train_loss":1.5})";
  FineTuneCheckpoint again = *store_->fine_tuning().add_checkpoint(sys_, k);
  EXPECT_EQ(again.id, first.id);
  auto list = *store_->fine_tuning().checkpoints(alice(), j.id, 0, 10);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, second.id);
  EXPECT_EQ(list[1].step, 1);
  EXPECT_EQ(list[1].metrics, R"({"train_loss":1.5})");
  auto after = *store_->fine_tuning().checkpoints(alice(), j.id, second.id, 10);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, first.id);
}

}  // namespace
}  // namespace socle::store
