// Usage records in the SQLite store: appends keep every field, filters and paging select
// the right rows, each kind of actor reads exactly the rows Actor::sees, totals match sums
// computed by hand for every grouping, appends leave the change counter alone, and only an
// all-tenants actor may delete for retention.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "base/clock.h"
#include "store/store.h"

namespace socle::store {
namespace {

// 2026-11-30T00:00:00Z and the next two days, in Unix milliseconds.
constexpr int64_t DAY_MS = 86'400'000;
constexpr int64_t NOV30 = 1'795'996'800'000;
constexpr int64_t DEC01 = NOV30 + DAY_MS;
constexpr int64_t DEC02 = DEC01 + DAY_MS;

class UsageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("socle-usage-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto s = open_sqlite_store((dir_ / "socle.db").string(), clock_);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static UsageEntry entry(int64_t time, Id user, Id org, const std::string& model, int status,
                          int64_t prompt, int64_t completion, double kwh) {
    UsageEntry e;
    e.time = time;
    e.request_id = "req-" + std::to_string(time) + "-" + std::to_string(user);
    e.user_id = user;
    e.key_id = user * 10;
    e.org_id = org;
    e.model = model;
    e.provider = "local";
    e.endpoint = "/v1/chat/completions";
    e.status = status;
    e.prompt_tokens = prompt;
    e.completion_tokens = completion;
    e.latency_ms = 12.5;
    e.first_token_ms = 3.25;
    e.energy_kwh = kwh;
    e.co2_g = kwh * 56;
    return e;
  }

  // Users 1 and 2 in organisation 100, user 3 in organisation 200.
  void append_sample() {
    std::vector<UsageEntry> rows = {
        entry(NOV30 + 1000, 1, 100, "mistral", 200, 10, 5, 0.5),
        entry(NOV30 + 2000, 2, 100, "llama", 200, 20, 10, 1.0),
        entry(NOV30 + 3000, 3, 200, "mistral", 429, 0, 0, 0.0),
        entry(DEC01 + 1000, 1, 100, "llama", 500, 7, 0, 0.25),
        entry(DEC01 + 2000, 3, 200, "mistral", 200, 30, 15, 2.0),
        entry(DEC02 - 1, 1, 100, "mistral", 200, 1, 1, 0.125),
    };
    ASSERT_TRUE(store_->usage().append(Actor::system(), rows).is_ok());
  }

  std::vector<UsageEntry> list(const Actor& actor, const UsageQuery& q = {}) {
    auto r = store_->usage().list(actor, q);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r.is_ok() ? *r : std::vector<UsageEntry>();
  }

  static std::set<Id> users_of(const std::vector<UsageEntry>& rows) {
    std::set<Id> out;
    for (const auto& r : rows)
      out.insert(r.user_id);
    return out;
  }

  ManualClock clock_{1'800'000'000};
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(UsageStoreTest, AppendKeepsEveryFieldAndAssignsIncreasingIds) {
  append_sample();
  std::vector<UsageEntry> rows = list(Actor::system());
  ASSERT_EQ(rows.size(), 6u);
  for (size_t i = 1; i < rows.size(); ++i)
    EXPECT_LT(rows[i - 1].id, rows[i].id);
  const UsageEntry& e = rows[3];
  EXPECT_GT(e.id, 0);
  EXPECT_EQ(e.time, DEC01 + 1000);
  EXPECT_EQ(e.request_id, "req-" + std::to_string(DEC01 + 1000) + "-1");
  EXPECT_EQ(e.user_id, 1);
  EXPECT_EQ(e.key_id, 10);
  EXPECT_EQ(e.org_id, 100);
  EXPECT_EQ(e.model, "llama");
  EXPECT_EQ(e.provider, "local");
  EXPECT_EQ(e.endpoint, "/v1/chat/completions");
  EXPECT_EQ(e.status, 500);
  EXPECT_EQ(e.prompt_tokens, 7);
  EXPECT_EQ(e.completion_tokens, 0);
  EXPECT_DOUBLE_EQ(e.latency_ms, 12.5);
  EXPECT_DOUBLE_EQ(e.first_token_ms, 3.25);
  EXPECT_DOUBLE_EQ(e.energy_kwh, 0.25);
  EXPECT_DOUBLE_EQ(e.co2_g, 14.0);
}

TEST_F(UsageStoreTest, AnEmptyAppendIsNotAnError) {
  EXPECT_TRUE(store_->usage().append(Actor::system(), {}).is_ok());
  EXPECT_TRUE(list(Actor::system()).empty());
}

TEST_F(UsageStoreTest, AppendsDoNotMoveTheChangeCounter) {
  int64_t before = *store_->change_counter();
  append_sample();
  EXPECT_EQ(*store_->change_counter(), before);
  ASSERT_TRUE(store_->usage().remove_before(Actor::system(), DEC01).is_ok());
  EXPECT_EQ(*store_->change_counter(), before);
}

TEST_F(UsageStoreTest, AnAppendInsideATransactionCommitsOrRollsBackWithIt) {
  Status failed = store_->transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(
        store_->usage().append(Actor::system(), {entry(NOV30, 1, 100, "m", 200, 1, 1, 0)}));
    return internal_error("the surrounding work failed");
  });
  EXPECT_FALSE(failed.is_ok());
  EXPECT_TRUE(list(Actor::system()).empty());
  Status ok = store_->transaction([&]() -> Status {
    return store_->usage().append(Actor::system(), {entry(NOV30, 1, 100, "m", 200, 1, 1, 0)});
  });
  EXPECT_TRUE(ok.is_ok()) << ok.message();
  EXPECT_EQ(list(Actor::system()).size(), 1u);
}

TEST_F(UsageStoreTest, EachKindOfActorReadsTheRowsItSees) {
  append_sample();
  EXPECT_EQ(users_of(list(Actor::system())), (std::set<Id>{1, 2, 3}));
  EXPECT_EQ(users_of(list(Actor::user(1, 100))), (std::set<Id>{1}));
  EXPECT_EQ(list(Actor::user(1, 100)).size(), 3u);
  EXPECT_EQ(users_of(list(Actor::user(2, 100))), (std::set<Id>{2}));
  EXPECT_TRUE(list(Actor::user(9, 100)).empty()) << "same organisation, not org-wide";
  EXPECT_EQ(users_of(list(Actor::organisation(1, 100))), (std::set<Id>{1, 2}));
  EXPECT_EQ(users_of(list(Actor::organisation(3, 200))), (std::set<Id>{3}));
  // A manager whose own rows were made in another organisation still sees them.
  EXPECT_EQ(users_of(list(Actor::organisation(3, 100))), (std::set<Id>{1, 2, 3}));

  // Filters narrow what the actor sees, never widen it.
  UsageQuery other_user;
  other_user.user_id = 3;
  EXPECT_TRUE(list(Actor::user(1, 100), other_user).empty());
  UsageQuery other_org;
  other_org.org_id = 200;
  EXPECT_TRUE(list(Actor::organisation(1, 100), other_org).empty());
  EXPECT_EQ(users_of(list(Actor::system(), other_org)), (std::set<Id>{3}));

  // Totals obey the same rule.
  auto mine = store_->usage().totals(Actor::user(1, 100), {}, {});
  ASSERT_TRUE(mine.is_ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].requests, 3);
}

TEST_F(UsageStoreTest, FiltersSelectByTimeModelEndpointUserAndOrganisation) {
  append_sample();
  UsageQuery q;
  q.since = DEC01;
  q.until = DEC02;
  std::vector<UsageEntry> day2 = list(Actor::system(), q);
  ASSERT_EQ(day2.size(), 3u) << "since is inclusive, until exclusive";
  EXPECT_EQ(day2[0].time, DEC01 + 1000);
  EXPECT_EQ(day2[2].time, DEC02 - 1);

  q = {};
  q.until = NOV30 + 1000;
  EXPECT_TRUE(list(Actor::system(), q).empty());

  q = {};
  q.model = "mistral";
  EXPECT_EQ(list(Actor::system(), q).size(), 4u);
  q.user_id = 1;
  EXPECT_EQ(list(Actor::system(), q).size(), 2u);
  q.endpoint = "/v1/embeddings";
  EXPECT_TRUE(list(Actor::system(), q).empty());

  q = {};
  q.org_id = 100;
  EXPECT_EQ(users_of(list(Actor::system(), q)), (std::set<Id>{1, 2}));
}

TEST_F(UsageStoreTest, PagesByIdWithoutGapsOrRepeats) {
  append_sample();
  std::vector<Id> all;
  for (const auto& r : list(Actor::system()))
    all.push_back(r.id);
  std::vector<Id> paged;
  UsageQuery q;
  q.limit = 4;
  while (true) {
    std::vector<UsageEntry> page = list(Actor::system(), q);
    ASSERT_LE(page.size(), 4u);
    if (page.empty()) break;
    for (const auto& r : page)
      paged.push_back(r.id);
    q.after_id = page.back().id;
  }
  EXPECT_EQ(paged, all);
  q = {};
  q.limit = 0;
  EXPECT_EQ(store_->usage().list(Actor::system(), q).status().code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(UsageStoreTest, TotalsWithoutGroupingAreOneRowEvenWhenNothingMatches) {
  auto empty = store_->usage().totals(Actor::system(), {}, {});
  ASSERT_TRUE(empty.is_ok()) << empty.status().message();
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_EQ((*empty)[0].requests, 0);
  EXPECT_EQ((*empty)[0].prompt_tokens, 0);
  EXPECT_DOUBLE_EQ((*empty)[0].energy_kwh, 0.0);

  append_sample();
  auto all = store_->usage().totals(Actor::system(), {}, {});
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 1u);
  const UsageTotal& t = (*all)[0];
  EXPECT_EQ(t.requests, 6);
  EXPECT_EQ(t.errors, 2);  // the 429 and the 500
  EXPECT_EQ(t.prompt_tokens, 10 + 20 + 0 + 7 + 30 + 1);
  EXPECT_EQ(t.completion_tokens, 5 + 10 + 0 + 0 + 15 + 1);
  EXPECT_DOUBLE_EQ(t.energy_kwh, 0.5 + 1.0 + 0.25 + 2.0 + 0.125);
  EXPECT_DOUBLE_EQ(t.co2_g, (0.5 + 1.0 + 0.25 + 2.0 + 0.125) * 56);
  EXPECT_EQ(t.day, "");
  EXPECT_EQ(t.model, "");
  EXPECT_EQ(t.user_id, 0);
  EXPECT_EQ(t.org_id, 0);
}

TEST_F(UsageStoreTest, TotalsByDayUseUtcDates) {
  append_sample();
  auto r = store_->usage().totals(Actor::system(), {}, {UsageGroup::DAY});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].day, "2026-11-30");
  EXPECT_EQ((*r)[0].requests, 3);
  EXPECT_EQ((*r)[0].errors, 1);
  EXPECT_EQ((*r)[0].prompt_tokens, 30);
  EXPECT_EQ((*r)[1].day, "2026-12-01");  // DEC02 - 1 ms is still 1 December
  EXPECT_EQ((*r)[1].requests, 3);
  EXPECT_EQ((*r)[1].errors, 1);
  EXPECT_DOUBLE_EQ((*r)[1].energy_kwh, 0.25 + 2.0 + 0.125);
  EXPECT_EQ((*r)[1].model, "") << "keys not grouped by stay empty";
}

TEST_F(UsageStoreTest, TotalsByModelUserAndOrganisation) {
  append_sample();
  auto by_model = store_->usage().totals(Actor::system(), {}, {UsageGroup::MODEL});
  ASSERT_TRUE(by_model.is_ok());
  ASSERT_EQ(by_model->size(), 2u);
  EXPECT_EQ((*by_model)[0].model, "llama");
  EXPECT_EQ((*by_model)[0].requests, 2);
  EXPECT_EQ((*by_model)[0].completion_tokens, 10);
  EXPECT_EQ((*by_model)[1].model, "mistral");
  EXPECT_EQ((*by_model)[1].requests, 4);

  auto by_user = store_->usage().totals(Actor::system(), {}, {UsageGroup::USER});
  ASSERT_TRUE(by_user.is_ok());
  ASSERT_EQ(by_user->size(), 3u);
  EXPECT_EQ((*by_user)[0].user_id, 1);
  EXPECT_EQ((*by_user)[0].requests, 3);
  EXPECT_EQ((*by_user)[0].prompt_tokens, 18);
  EXPECT_EQ((*by_user)[2].user_id, 3);
  EXPECT_EQ((*by_user)[2].errors, 1);

  auto by_org = store_->usage().totals(Actor::system(), {}, {UsageGroup::ORGANISATION});
  ASSERT_TRUE(by_org.is_ok());
  ASSERT_EQ(by_org->size(), 2u);
  EXPECT_EQ((*by_org)[0].org_id, 100);
  EXPECT_EQ((*by_org)[0].requests, 4);
  EXPECT_EQ((*by_org)[1].org_id, 200);
  EXPECT_DOUBLE_EQ((*by_org)[1].energy_kwh, 2.0);
}

TEST_F(UsageStoreTest, TotalsBySeveralKeysAreSortedInTheOrderAsked) {
  append_sample();
  UsageQuery org100;
  org100.org_id = 100;
  auto r = store_->usage().totals(Actor::system(), org100, {UsageGroup::MODEL, UsageGroup::DAY});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->size(), 4u);
  // (llama, 11-30) user 2; (llama, 12-01) user 1; (mistral, 11-30) and (mistral, 12-01) user 1.
  EXPECT_EQ((*r)[0].model, "llama");
  EXPECT_EQ((*r)[0].day, "2026-11-30");
  EXPECT_EQ((*r)[1].model, "llama");
  EXPECT_EQ((*r)[1].day, "2026-12-01");
  EXPECT_EQ((*r)[1].errors, 1);
  EXPECT_EQ((*r)[2].model, "mistral");
  EXPECT_EQ((*r)[2].day, "2026-11-30");
  EXPECT_EQ((*r)[3].model, "mistral");
  EXPECT_EQ((*r)[3].day, "2026-12-01");
  EXPECT_EQ((*r)[3].prompt_tokens, 1);

  auto both = store_->usage().totals(Actor::system(), {}, {UsageGroup::DAY, UsageGroup::USER});
  ASSERT_TRUE(both.is_ok());
  ASSERT_EQ(both->size(), 5u);  // 11-30: users 1, 2, 3; 12-01: users 1, 3
  EXPECT_EQ((*both)[0].day, "2026-11-30");
  EXPECT_EQ((*both)[0].user_id, 1);
  EXPECT_EQ((*both)[3].day, "2026-12-01");
  EXPECT_EQ((*both)[3].user_id, 1);
  EXPECT_EQ((*both)[3].requests, 2);

  EXPECT_EQ(store_->usage()
                .totals(Actor::system(), {}, {UsageGroup::DAY, UsageGroup::DAY})
                .status()
                .code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(UsageStoreTest, RemoveBeforeIsForAllTenantsActorsOnly) {
  append_sample();
  EXPECT_EQ(store_->usage().remove_before(Actor::user(1, 100), DEC02).status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->usage().remove_before(Actor::organisation(1, 100), DEC02).status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(list(Actor::system()).size(), 6u);
  auto removed = store_->usage().remove_before(Actor::system(), DEC01);
  ASSERT_TRUE(removed.is_ok()) << removed.status().message();
  EXPECT_EQ(*removed, 3);
  std::vector<UsageEntry> left = list(Actor::system());
  ASSERT_EQ(left.size(), 3u);
  for (const auto& r : left)
    EXPECT_GE(r.time, DEC01);
  EXPECT_EQ(*store_->usage().remove_before(Actor::system(), DEC01), 0);
}

}  // namespace
}  // namespace socle::store
