#include "tenancy/limits.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <thread>

#include "base/clock.h"

namespace socle::tenancy {
namespace {

using store::LimitRule;
using store::LimitScope;
using store::LimitValues;

// A UTC midnight (19676 days after the epoch), so that the expected windows below are plain
// arithmetic: the minute ends 60 s after it, the day 86,400 s after it.
constexpr int64_t MIDNIGHT_S = 1'700'006'400;
constexpr int64_t MINUTE_MS = 60'000;
constexpr int64_t DAY_MS = 86'400'000;

constexpr store::Id ORG = 10;
constexpr store::Id OTHER_ORG = 11;
constexpr store::Id ROLE = 20;
constexpr store::Id ALICE = 30;
constexpr store::Id BOB = 31;

LimitRule rule(LimitScope scope, store::Id id, std::string model, LimitValues v) {
  LimitRule r;
  r.scope = scope;
  r.scope_id = id;
  r.model = std::move(model);
  r.values = v;
  return r;
}

LimitValues rpm(int64_t n) {
  LimitValues v;
  v.requests_per_minute = n;
  return v;
}

std::map<std::string, std::string> header_map(const Verdict& v) {
  return {v.headers.begin(), v.headers.end()};
}

// ---- LimitTable -------------------------------------------------------------------------

TEST(LimitTableTest, UserRulesWinOverRoleRulesAndModelOverStar) {
  // Each level carries its own value so that the answer names the rule that won.
  LimitRule user_model = rule(LimitScope::USER, ALICE, "m", rpm(1));
  LimitRule user_any = rule(LimitScope::USER, ALICE, "*", rpm(2));
  LimitRule role_model = rule(LimitScope::ROLE, ROLE, "m", rpm(3));
  LimitRule role_any = rule(LimitScope::ROLE, ROLE, "*", rpm(4));

  LimitTable all({user_model, user_any, role_model, role_any});
  EXPECT_EQ(all.for_user(ALICE, ROLE, "m")->requests_per_minute, 1);
  EXPECT_EQ(all.for_user(ALICE, ROLE, "other")->requests_per_minute, 2);
  EXPECT_EQ(all.for_user(BOB, ROLE, "m")->requests_per_minute, 3);
  EXPECT_EQ(all.for_user(BOB, ROLE, "other")->requests_per_minute, 4);

  LimitTable no_user_model({user_any, role_model, role_any});
  EXPECT_EQ(no_user_model.for_user(ALICE, ROLE, "m")->requests_per_minute, 2);

  LimitTable roles_only({role_model, role_any});
  EXPECT_EQ(roles_only.for_user(ALICE, ROLE, "m")->requests_per_minute, 3);
  EXPECT_EQ(roles_only.for_user(ALICE, ROLE, "other")->requests_per_minute, 4);

  LimitTable role_star_only({role_any});
  EXPECT_EQ(role_star_only.for_user(ALICE, ROLE, "m")->requests_per_minute, 4);
  EXPECT_FALSE(role_star_only.for_user(ALICE, ROLE + 1, "m").has_value()) << "another role";

  LimitTable user_model_only({user_model});
  EXPECT_FALSE(user_model_only.for_user(ALICE, ROLE, "other").has_value());
  EXPECT_FALSE(user_model_only.for_user(BOB, ROLE, "m").has_value());
}

TEST(LimitTableTest, TheMostSpecificRuleWinsWhole) {
  LimitValues user_tokens;
  user_tokens.tokens_per_day = 100;
  LimitValues role_both = rpm(5);
  role_both.tokens_per_day = 1;
  LimitTable t({rule(LimitScope::ROLE, ROLE, "*", role_both),
                rule(LimitScope::USER, ALICE, "*", user_tokens)});
  auto v = t.for_user(ALICE, ROLE, "m");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->tokens_per_day, 100);
  EXPECT_FALSE(v->requests_per_minute.has_value()) << "not merged counter by counter";
}

TEST(LimitTableTest, OrganisationCeilings) {
  LimitTable t({rule(LimitScope::ORGANISATION, ORG, "m", rpm(7)),
                rule(LimitScope::ORGANISATION, ORG, "*", rpm(8)),
                rule(LimitScope::USER, ORG, "*", rpm(9))});
  EXPECT_EQ(t.for_org(ORG, "m")->requests_per_minute, 7);
  EXPECT_EQ(t.for_org(ORG, "other")->requests_per_minute, 8);
  EXPECT_FALSE(t.for_org(OTHER_ORG, "m").has_value());
  EXPECT_EQ(t.for_user(ORG, ROLE, "m")->requests_per_minute, 9) << "scopes do not mix";
  LimitTable model_only({rule(LimitScope::ORGANISATION, ORG, "m", rpm(7))});
  EXPECT_FALSE(model_only.for_org(ORG, "other").has_value());
  EXPECT_FALSE(model_only.for_user(ALICE, ROLE, "m").has_value()) << "a ceiling is no user rule";
}

TEST(LimitTableTest, ALaterRuleForTheSameKeyReplacesAnEarlierOne) {
  LimitTable t(
      {rule(LimitScope::ROLE, ROLE, "m", rpm(1)), rule(LimitScope::ROLE, ROLE, "m", rpm(2))});
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.for_user(ALICE, ROLE, "m")->requests_per_minute, 2);
}

// ---- format_reset ------------------------------------------------------------------------

TEST(LimitResetTest, FormatsLikeOpenAI) {
  EXPECT_EQ(format_reset(0), "0s");
  EXPECT_EQ(format_reset(-5), "0s");
  EXPECT_EQ(format_reset(1), "1ms");
  EXPECT_EQ(format_reset(250), "250ms");
  EXPECT_EQ(format_reset(999), "999ms");
  EXPECT_EQ(format_reset(1000), "1s");
  EXPECT_EQ(format_reset(1001), "2s") << "rounded up: never earlier than the real reset";
  EXPECT_EQ(format_reset(59'000), "59s");
  EXPECT_EQ(format_reset(60'000), "1m0s");
  EXPECT_EQ(format_reset(360'000), "6m0s");
  EXPECT_EQ(format_reset(3'723'000), "1h2m3s");
  EXPECT_EQ(format_reset(3'600'000), "1h0m0s");
  EXPECT_EQ(format_reset(DAY_MS), "24h0m0s");
}

// ---- Limiter -----------------------------------------------------------------------------

class LimiterTest : public ::testing::Test {
 protected:
  void set_rules(std::vector<LimitRule> rules) {
    limiter_.set_table(std::make_shared<const LimitTable>(std::move(rules)));
  }
  Verdict admit(store::Id user, std::string model = "m", int64_t tokens = 0, store::Id org = ORG) {
    return limiter_.admit(AdmissionRequest{user, org, ROLE, std::move(model), tokens});
  }

  ManualClock clock_{MIDNIGHT_S};
  Limiter limiter_{clock_};
};

TEST_F(LimiterTest, NoRuleAdmitsWithoutCountersOrHeaders) {
  Verdict none = admit(ALICE);
  EXPECT_TRUE(none.admitted);
  EXPECT_EQ(none.refusal, Refusal::NONE);
  EXPECT_TRUE(none.headers.empty());
  EXPECT_FALSE(none.ticket.holds_counters());

  set_rules({rule(LimitScope::USER, BOB, "*", rpm(1))});
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(admit(ALICE).admitted);
  EXPECT_EQ(limiter_.counter_count(), 0u) << "Alice has no rule: no counter";

  // A rule that sets nothing overrides the role's limit and means no limit.
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(1)),
             rule(LimitScope::USER, ALICE, "*", LimitValues{})});
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(admit(ALICE).admitted);
  EXPECT_EQ(limiter_.counter_count(), 0u);

  limiter_.set_table(nullptr);
  EXPECT_TRUE(admit(ALICE).admitted);
}

TEST_F(LimiterTest, MinuteWindowRollsOver) {
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(3))});
  clock_.advance_ms(15'250);
  for (int i = 0; i < 3; ++i) {
    Verdict v = admit(ALICE);
    EXPECT_TRUE(v.admitted) << i;
    EXPECT_TRUE(v.ticket.holds_counters());
  }
  Verdict refused = admit(ALICE);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.refusal, Refusal::LIMIT_REACHED);
  EXPECT_FALSE(refused.ticket.holds_counters());
  EXPECT_EQ(refused.retry_after_s, 45) << "44.75 s are left in the minute: rounded up";
  EXPECT_NE(refused.message.find("requests per minute"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("'m'"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("your limit: 3"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("45s"), std::string::npos) << refused.message;
  auto h = header_map(refused);
  EXPECT_EQ(h["retry-after"], "45");
  EXPECT_EQ(h["x-ratelimit-remaining-requests"], "0");

  clock_.advance_ms(44'749);
  EXPECT_FALSE(admit(ALICE).admitted) << "1 ms before the minute ends";
  EXPECT_EQ(admit(ALICE).retry_after_s, 1);
  clock_.advance_ms(1);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(admit(ALICE).admitted) << "a new minute: " << i;
  EXPECT_FALSE(admit(ALICE).admitted);
}

TEST_F(LimiterTest, DayWindowRollsOver) {
  LimitValues v;
  v.requests_per_day = 2;
  set_rules({rule(LimitScope::USER, ALICE, "m", v)});
  EXPECT_TRUE(admit(ALICE).admitted);
  EXPECT_TRUE(admit(ALICE).admitted);
  clock_.advance_ms(MINUTE_MS);
  Verdict refused = admit(ALICE);
  EXPECT_FALSE(refused.admitted) << "a new minute is no new day";
  EXPECT_EQ(refused.retry_after_s, 86'400 - 60);
  EXPECT_NE(refused.message.find("requests per day"), std::string::npos) << refused.message;
  clock_.advance_ms(DAY_MS - MINUTE_MS - 1);
  EXPECT_FALSE(admit(ALICE).admitted);
  clock_.advance_ms(1);
  EXPECT_TRUE(admit(ALICE).admitted);
  EXPECT_TRUE(admit(ALICE).admitted);
  EXPECT_FALSE(admit(ALICE).admitted);
}

TEST_F(LimiterTest, AStarRuleGivesEachModelItsOwnCounters) {
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(1)), rule(LimitScope::ROLE, ROLE, "c", rpm(2))});
  EXPECT_TRUE(admit(ALICE, "a").admitted);
  EXPECT_FALSE(admit(ALICE, "a").admitted);
  EXPECT_TRUE(admit(ALICE, "b").admitted) << "'b' has its own counter under '*'";
  EXPECT_FALSE(admit(ALICE, "b").admitted);
  EXPECT_TRUE(admit(ALICE, "c").admitted);
  EXPECT_TRUE(admit(ALICE, "c").admitted) << "'c' has its own rule of 2";
  EXPECT_FALSE(admit(ALICE, "c").admitted);
  EXPECT_TRUE(admit(BOB, "a").admitted) << "a role rule counts per user";
}

TEST_F(LimiterTest, UserAndOrganisationCountersAreSeparate) {
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(2)),
             rule(LimitScope::ORGANISATION, ORG, "m", rpm(3))});
  EXPECT_TRUE(admit(ALICE).admitted);
  EXPECT_TRUE(admit(ALICE).admitted);
  Verdict own = admit(ALICE);
  EXPECT_FALSE(own.admitted);
  EXPECT_NE(own.message.find("your limit: 2"), std::string::npos) << own.message;

  EXPECT_TRUE(admit(BOB).admitted) << "Bob has his own counter; the organisation's is at 3";
  Verdict ceiling = admit(BOB);
  EXPECT_FALSE(ceiling.admitted);
  EXPECT_NE(ceiling.message.find("your organisation's limit: 3"), std::string::npos)
      << ceiling.message;

  EXPECT_TRUE(admit(BOB, "m", 0, OTHER_ORG).admitted) << "another organisation";
  EXPECT_TRUE(admit(BOB, "other").admitted) << "the ceiling is for 'm' only";
}

TEST_F(LimiterTest, AUserAndAnOrganisationWithTheSameIdCountApart) {
  // Users and organisations are numbered apart, so one id may name both.
  set_rules(
      {rule(LimitScope::USER, ORG, "*", rpm(2)), rule(LimitScope::ORGANISATION, ORG, "*", rpm(3))});
  EXPECT_TRUE(admit(ORG).admitted);
  EXPECT_TRUE(admit(ORG).admitted);
  EXPECT_FALSE(admit(ORG).admitted);
  EXPECT_TRUE(admit(BOB).admitted) << "the organisation has counted 2 of its 3";
  EXPECT_FALSE(admit(BOB).admitted);
}

TEST_F(LimiterTest, ARefusedRequestChargesNothing) {
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(5)),
             rule(LimitScope::ORGANISATION, ORG, "*", rpm(1))});
  EXPECT_TRUE(admit(ALICE).admitted);
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(admit(BOB).admitted) << "the organisation's is full";
  // Without the ceiling, Bob's own counter shows that none of his refusals was charged.
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(5))});
  Verdict v = admit(BOB);
  ASSERT_TRUE(v.admitted);
  EXPECT_EQ(header_map(v)["x-ratelimit-remaining-requests"], "4");
}

TEST_F(LimiterTest, SettleLowersAndRaisesTheTokenCount) {
  LimitValues v;
  v.tokens_per_minute = 1000;
  set_rules({rule(LimitScope::USER, ALICE, "*", v)});

  Verdict first = admit(ALICE, "m", 600);
  ASSERT_TRUE(first.admitted);
  EXPECT_EQ(first.ticket.reserved_tokens(), 600);
  EXPECT_EQ(header_map(first)["x-ratelimit-remaining-tokens"], "400");
  EXPECT_FALSE(admit(ALICE, "m", 600).admitted) << "600 reserved + 600 > 1000";
  first.ticket.settle(100);
  EXPECT_FALSE(first.ticket.holds_counters());

  Verdict second = admit(ALICE, "m", 600);
  ASSERT_TRUE(second.admitted) << "100 used + 600 <= 1000";
  EXPECT_EQ(header_map(second)["x-ratelimit-remaining-tokens"], "300");
  second.ticket.settle(900);  // more than reserved: the stream ran longer than estimated
  second.ticket.settle(0);    // a second settle changes nothing

  Verdict full = admit(ALICE, "m", 1);
  EXPECT_FALSE(full.admitted) << "100 + 900 = 1000 used";
  EXPECT_EQ(full.refusal, Refusal::LIMIT_REACHED);
  EXPECT_NE(full.message.find("tokens per minute"), std::string::npos) << full.message;
  EXPECT_TRUE(admit(ALICE, "m", 0).admitted);
}

TEST_F(LimiterTest, AReservationLargerThanTheLimitItselfSaysSo) {
  LimitValues v;
  v.tokens_per_minute = 1000;
  set_rules({rule(LimitScope::ORGANISATION, ORG, "*", v)});
  Verdict r = admit(ALICE, "m", 1500);
  EXPECT_FALSE(r.admitted);
  EXPECT_EQ(r.refusal, Refusal::RESERVATION_TOO_LARGE);
  EXPECT_GE(r.retry_after_s, 1);
  EXPECT_NE(r.message.find("1500 tokens"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("max_tokens"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("your organisation's limit of tokens per minute"), std::string::npos)
      << r.message;
  EXPECT_TRUE(admit(ALICE, "m", 1000).admitted) << "exactly the limit fits an empty window";
}

TEST_F(LimiterTest, TheLargestReservationSaturatesTheCountersInsteadOfWrapping) {
  // A reservation of INT64_MAX (a huge max_tokens) is counted against a requests limit that
  // has no token limit beside it: the token counters stay at the int64 bound, never wrap
  // (UBSan stops the test on a signed overflow) and never go negative.
  constexpr int64_t MOST = std::numeric_limits<int64_t>::max();
  set_rules({rule(LimitScope::USER, ALICE, "*", rpm(3))});
  Verdict first = admit(ALICE, "m", MOST);
  Verdict second = admit(ALICE, "m", MOST);
  ASSERT_TRUE(first.admitted && second.admitted);
  first.ticket.settle(MOST);
  second.ticket.settle(5);
  EXPECT_TRUE(admit(ALICE, "m", MOST).admitted);

  // Beside a tokens limit, the same reservation is refused as too large by itself.
  LimitValues v;
  v.tokens_per_minute = 1000;
  set_rules({rule(LimitScope::USER, BOB, "*", v)});
  ASSERT_TRUE(admit(BOB, "m", 10).admitted);
  Verdict huge = admit(BOB, "m", MOST);
  EXPECT_FALSE(huge.admitted);
  EXPECT_EQ(huge.refusal, Refusal::RESERVATION_TOO_LARGE) << huge.message;
}

TEST_F(LimiterTest, SettleAfterTheMinuteRolledOverChargesOnlyTheDay) {
  LimitValues v;
  v.tokens_per_minute = 1000;
  v.tokens_per_day = 3000;
  set_rules({rule(LimitScope::USER, ALICE, "*", v)});
  Verdict shorter = admit(ALICE, "m", 800);
  Verdict longer = admit(ALICE, "m", 100);
  ASSERT_TRUE(shorter.admitted && longer.admitted);
  clock_.advance_ms(MINUTE_MS);
  ASSERT_TRUE(admit(ALICE, "m", 500).admitted);
  // Both streams end in the new minute, one under and one over its reservation: the new
  // minute keeps its 500 either way; the day goes from 1400 to 1400 - 750 + 300 = 950.
  shorter.ticket.settle(50);
  longer.ticket.settle(400);
  Verdict minute_full = admit(ALICE, "m", 501);
  EXPECT_FALSE(minute_full.admitted);
  EXPECT_NE(minute_full.message.find("tokens per minute"), std::string::npos)
      << minute_full.message;
  ASSERT_TRUE(admit(ALICE, "m", 500).admitted) << "day: 1450";
  clock_.advance_ms(MINUTE_MS);
  ASSERT_TRUE(admit(ALICE, "m", 1000).admitted) << "day: 2450";
  clock_.advance_ms(MINUTE_MS);
  Verdict day_full = admit(ALICE, "m", 551);
  EXPECT_FALSE(day_full.admitted) << "2450 + 551 > 3000 in the day";
  EXPECT_NE(day_full.message.find("tokens per day"), std::string::npos) << day_full.message;
  EXPECT_TRUE(admit(ALICE, "m", 550).admitted);
}

TEST_F(LimiterTest, AnAbandonedTicketKeepsItsReservation) {
  LimitValues v;
  v.tokens_per_minute = 1000;
  set_rules({rule(LimitScope::USER, ALICE, "*", v)});
  { Verdict dropped = admit(ALICE, "m", 700); }
  EXPECT_FALSE(admit(ALICE, "m", 400).admitted);
  EXPECT_TRUE(admit(ALICE, "m", 300).admitted);
}

TEST_F(LimiterTest, ConcurrencyIsReleasedBySettleAndByTheDestructor) {
  LimitValues v;
  v.concurrent_requests = 2;
  set_rules({rule(LimitScope::USER, ALICE, "m", v)});
  Verdict a = admit(ALICE);
  Verdict b = admit(ALICE);
  ASSERT_TRUE(a.admitted && b.admitted);
  EXPECT_TRUE(a.headers.empty()) << "concurrency has no OpenAI header";
  Verdict c = admit(ALICE);
  EXPECT_FALSE(c.admitted);
  EXPECT_EQ(c.refusal, Refusal::LIMIT_REACHED);
  EXPECT_EQ(c.retry_after_s, 1);
  EXPECT_NE(c.message.find("concurrent requests"), std::string::npos) << c.message;

  a.ticket.settle(10);
  Verdict d = admit(ALICE);
  ASSERT_TRUE(d.admitted) << "settle released a slot";
  EXPECT_FALSE(admit(ALICE).admitted);

  d = Verdict{};  // assigning over a ticket releases it, as dropping it does
  Verdict e = admit(ALICE);
  ASSERT_TRUE(e.admitted) << "the assignment released a slot";
  { Admission gone = std::move(e.ticket); }
  EXPECT_FALSE(e.ticket.holds_counters());
  EXPECT_TRUE(admit(ALICE).admitted) << "the moved-to ticket released it once";
  EXPECT_TRUE(b.ticket.holds_counters());
}

TEST_F(LimiterTest, ZeroMeansNoAccess) {
  LimitValues none;
  none.concurrent_requests = 0;
  set_rules({rule(LimitScope::USER, ALICE, "m", rpm(0)),
             rule(LimitScope::ORGANISATION, OTHER_ORG, "*", none)});
  clock_.advance_ms(15'000);
  Verdict r = admit(ALICE);
  EXPECT_FALSE(r.admitted);
  EXPECT_EQ(r.refusal, Refusal::NO_ACCESS);
  EXPECT_NE(r.message.find("no access to model 'm'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("your limit"), std::string::npos) << r.message;
  EXPECT_EQ(r.retry_after_s, 86'400 - 15) << "until the day's window ends";
  EXPECT_EQ(header_map(r)["retry-after"], std::to_string(86'400 - 15));
  EXPECT_EQ(limiter_.counter_count(), 0u) << "refused without touching a counter";
  EXPECT_TRUE(admit(ALICE, "other").admitted);

  Verdict org = admit(BOB, "m", 0, OTHER_ORG);
  EXPECT_EQ(org.refusal, Refusal::NO_ACCESS);
  EXPECT_NE(org.message.find("your organisation's"), std::string::npos) << org.message;
}

TEST_F(LimiterTest, HeadersReportTheMostConstrainingWindow) {
  LimitValues v;
  v.requests_per_minute = 10;
  v.requests_per_day = 100;
  v.tokens_per_minute = 1000;
  v.tokens_per_day = 5000;
  set_rules({rule(LimitScope::USER, ALICE, "m", v)});
  clock_.advance_ms(15'250);
  Verdict first = admit(ALICE, "m", 200);
  ASSERT_TRUE(first.admitted);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"x-ratelimit-limit-requests", "10"},    {"x-ratelimit-remaining-requests", "9"},
      {"x-ratelimit-reset-requests", "45s"},   {"x-ratelimit-limit-tokens", "1000"},
      {"x-ratelimit-remaining-tokens", "800"}, {"x-ratelimit-reset-tokens", "45s"},
  };
  EXPECT_EQ(first.headers, expected);
  ASSERT_TRUE(first.rate.requests.has_value());
  EXPECT_EQ(first.rate.requests->reset_ms, 44'750);

  // The day becomes the tighter window for requests, and the organisation's ceiling for tokens.
  v.requests_per_day = 3;
  LimitValues ceiling;
  ceiling.tokens_per_minute = 5000;
  ceiling.tokens_per_day = 500;
  set_rules(
      {rule(LimitScope::USER, ALICE, "m", v), rule(LimitScope::ORGANISATION, ORG, "*", ceiling)});
  Verdict second = admit(ALICE, "m", 100);
  ASSERT_TRUE(second.admitted);
  auto h = header_map(second);
  EXPECT_EQ(h["x-ratelimit-limit-requests"], "3");
  EXPECT_EQ(h["x-ratelimit-remaining-requests"], "1");
  EXPECT_EQ(h["x-ratelimit-reset-requests"], "23h59m45s");  // 86,384.75 s, rounded up
  EXPECT_EQ(h["x-ratelimit-limit-tokens"], "500");
  EXPECT_EQ(h["x-ratelimit-remaining-tokens"], "400") << "the ceiling counts from this request";
  EXPECT_EQ(h.count("retry-after"), 0u);

  // On a tie in what remains, the window that resets later is reported.
  LimitValues tie;
  tie.requests_per_minute = 2;
  tie.requests_per_day = 2;
  set_rules({rule(LimitScope::USER, BOB, "m", tie)});
  Verdict t = admit(BOB);
  EXPECT_EQ(header_map(t)["x-ratelimit-reset-requests"], "23h59m45s");
}

TEST_F(LimiterTest, SweepFreesStaleCounters) {
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(5))});
  std::vector<Verdict> held;
  for (store::Id u = 100; u < 110; ++u) {
    Verdict v = admit(u);
    ASSERT_TRUE(v.admitted);
    if (u == 100) held.push_back(std::move(v));
  }
  EXPECT_EQ(limiter_.counter_count(), 10u);
  EXPECT_EQ(limiter_.sweep(), 0u) << "today's counts are still needed";
  clock_.advance_ms(DAY_MS);
  EXPECT_EQ(limiter_.sweep(), 9u) << "the counter of a held ticket stays";
  EXPECT_EQ(limiter_.counter_count(), 1u);
  held.clear();
  EXPECT_EQ(limiter_.sweep(), 1u);
  EXPECT_EQ(limiter_.counter_count(), 0u);
}

TEST_F(LimiterTest, AdmitPrunesStaleCountersAsTheMapGrows) {
  constexpr int USERS_PER_DAY = 3000;
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(5))});
  for (int u = 0; u < USERS_PER_DAY; ++u)
    ASSERT_TRUE(admit(1000 + u).admitted);
  EXPECT_EQ(limiter_.counter_count(), static_cast<size_t>(USERS_PER_DAY));
  clock_.advance_ms(DAY_MS);
  for (int u = 0; u < USERS_PER_DAY; ++u)
    ASSERT_TRUE(admit(100'000 + u).admitted);
  // Yesterday's counters went in a sweep that admit() ran itself; at most twice what the last
  // sweep left can be held.
  EXPECT_LT(limiter_.counter_count(), static_cast<size_t>(2 * USERS_PER_DAY));
  EXPECT_EQ(limiter_.sweep(), 0u) << "nothing stale is left";
}

TEST_F(LimiterTest, ConcurrentAdmissionsNeverExceedThePerMinuteLimit) {
  constexpr int THREADS = 16;
  constexpr int ADMITS_PER_THREAD = 500;
  constexpr int64_t LIMIT = 37;
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(LIMIT))});
  std::atomic<int64_t> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < THREADS; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < ADMITS_PER_THREAD; ++i) {
        Verdict v = admit(ALICE, "m", 0);
        if (!v.admitted) continue;
        ++admitted;
        if ((i + t) % 2 == 0) v.ticket.settle(1);  // the others are dropped unsettled
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(admitted.load(), LIMIT);
}

TEST_F(LimiterTest, ConcurrentAdmissionsRespectUserAndOrganisationTogether) {
  constexpr int THREADS = 16;
  constexpr int ADMITS_PER_THREAD = 300;
  constexpr int USERS = 4;
  constexpr int64_t USER_LIMIT = 20;
  constexpr int64_t ORG_LIMIT = 50;  // less than USERS * USER_LIMIT: the ceiling binds
  set_rules({rule(LimitScope::ROLE, ROLE, "*", rpm(USER_LIMIT)),
             rule(LimitScope::ORGANISATION, ORG, "*", rpm(ORG_LIMIT))});
  std::atomic<int64_t> per_user[USERS] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < THREADS; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < ADMITS_PER_THREAD; ++i) {
        int u = (t + i) % USERS;
        if (admit(ALICE + u).admitted) ++per_user[u];
      }
    });
  }
  for (auto& th : threads)
    th.join();
  int64_t total = 0;
  for (auto& n : per_user) {
    EXPECT_LE(n.load(), USER_LIMIT);
    total += n.load();
  }
  EXPECT_EQ(total, ORG_LIMIT);
}

TEST_F(LimiterTest, ConcurrentRequestsInFlightNeverExceedTheLimit) {
  constexpr int THREADS = 16;
  constexpr int ADMITS_PER_THREAD = 300;
  constexpr int64_t LIMIT = 3;
  LimitValues v;
  v.concurrent_requests = LIMIT;
  set_rules({rule(LimitScope::USER, ALICE, "*", v)});
  std::atomic<int64_t> in_flight{0}, most{0}, admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < THREADS; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < ADMITS_PER_THREAD; ++i) {
        Verdict r = admit(ALICE);
        if (!r.admitted) continue;
        ++admitted;
        int64_t now = ++in_flight;
        int64_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --in_flight;  // before the slot is given back, so the count never runs ahead
        r.ticket.settle(0);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_LE(most.load(), LIMIT);
  EXPECT_GT(admitted.load(), LIMIT) << "slots were reused";
}

}  // namespace
}  // namespace socle::tenancy
