// A provider's circuit breaker, by its rules: open after consecutive failures, half-open
// after the cool-down with one trial at a time and nothing else in flight, closed by a
// success; a cancelled request judges nothing.
#include "providers/provider.h"

#include <gtest/gtest.h>

#include "base/clock.h"

namespace socle::providers {
namespace {

class ProviderTest : public ::testing::Test {
 protected:
  ProviderTest() : provider_(ProviderSpec{}, BreakerSettings{2, 1000}, clock_) {}
  BreakerState state() const { return provider_.snapshot().breaker; }
  void open_breaker() {
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(provider_.try_acquire());
      provider_.release(false, 0.1);
    }
    ASSERT_EQ(state(), BreakerState::OPEN);
  }
  ManualClock clock_;
  Provider provider_;
};

TEST_F(ProviderTest, AHalfOpenBreakerLetsOneTrialThroughAtATime) {
  open_breaker();
  EXPECT_FALSE(provider_.try_acquire());
  clock_.advance_ms(1000);
  ASSERT_EQ(state(), BreakerState::HALF_OPEN);
  ASSERT_TRUE(provider_.try_acquire()) << "the trial";
  EXPECT_FALSE(provider_.available());
  EXPECT_FALSE(provider_.try_acquire()) << "a second trial";
  provider_.release(true, 0.1);
  EXPECT_EQ(state(), BreakerState::CLOSED);
  EXPECT_TRUE(provider_.try_acquire());
  EXPECT_TRUE(provider_.try_acquire());
}

// A request sent before the breaker opened, ending during the trial, is not the trial: it
// neither lets a second trial through nor is waited for in vain.
TEST_F(ProviderTest, RequestsFromBeforeTheOpeningAreNotTakenForTheTrial) {
  ASSERT_TRUE(provider_.try_acquire());  // old, still in flight
  open_breaker();
  clock_.advance_ms(1000);
  ASSERT_EQ(state(), BreakerState::HALF_OPEN);
  EXPECT_FALSE(provider_.try_acquire()) << "no trial while an older request is in flight";
  provider_.release(true, 0.1);  // the old one succeeds: the upstream works again
  EXPECT_EQ(state(), BreakerState::CLOSED);
}

TEST_F(ProviderTest, ACancelledTrialJudgesNothing) {
  open_breaker();
  clock_.advance_ms(1000);
  ASSERT_TRUE(provider_.try_acquire());
  provider_.release_unjudged();  // the client left
  EXPECT_EQ(state(), BreakerState::HALF_OPEN) << "not closed by a request that proved nothing";
  EXPECT_EQ(provider_.snapshot().errors, 2);
  ASSERT_TRUE(provider_.try_acquire()) << "the next trial";
  provider_.release(false, 0.1);
  EXPECT_EQ(state(), BreakerState::OPEN);
}

}  // namespace
}  // namespace socle::providers
