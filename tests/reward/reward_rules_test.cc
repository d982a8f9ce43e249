// The reward formulas with censoring (storage/reward_rules.h), on a
// hand-computed user.
#include "storage/reward_rules.h"

#include "gtest/gtest.h"

namespace resact {
namespace {

constexpr int64_t kHour = 3600000;

// Three sessions: [0 h, 1 h], [3 h, 4 h], [34 h, 35 h] with 2, 4 and 6
// requests. Returns 2 h and 30 h: δ_avg = 16 h; η_avg = 4.
struct User {
  int64_t start[3] = {0, 3 * kHour, 34 * kHour};
  int64_t end[3] = {1 * kHour, 4 * kHour, 35 * kHour};
  uint64_t length[3] = {2, 4, 6};
};

TEST(RewardRules, HandComputedUserWithoutCensoring) {
  User u;
  RewardRule rule;
  rule.return_cap_hours = 10;  // δ_p below δ_avg: the cap is 10 h.
  uint8_t rt[3], sl[3];
  RewardCensorCounts counts;
  SessionRewards(u.start, u.end, u.length, 3, rule, rt, sl, &counts);
  EXPECT_EQ(rt[0], 5);  // floor(10 / 2) = 5.
  EXPECT_EQ(rt[1], 0);  // floor(10 / 30).
  EXPECT_EQ(rt[2], 0);  // The last session: no return yet.
  EXPECT_EQ(sl[0], 0);  // floor(2 / 3.2).
  EXPECT_EQ(sl[1], 1);  // floor(4 / 3.2).
  EXPECT_EQ(sl[2], 1);  // floor(6 / 3.2).
  EXPECT_EQ(counts.pending, 1u);
  EXPECT_EQ(counts.censored, 0u);
}

TEST(RewardRules, ReturnsPastTheHorizonAreCensored) {
  User u;
  RewardRule rule;
  rule.return_cap_hours = 10;
  rule.censor_after_hours = 8;
  uint8_t rt[3], sl[3];
  // The newest request 5 h after the last session: its return is pending.
  rule.reference_ms = 40 * kHour;
  RewardCensorCounts counts;
  SessionRewards(u.start, u.end, u.length, 3, rule, rt, sl, &counts);
  EXPECT_EQ(rt[0], 5);  // 2 h: within the horizon.
  EXPECT_EQ(rt[1], 0);  // 30 h > 8 h: censored, valued 0.
  EXPECT_EQ(rt[2], 0);
  EXPECT_EQ(counts.pending, 1u);
  EXPECT_EQ(counts.censored, 0u);
  // 10 h after: the last session is censored too.
  rule.reference_ms = 45 * kHour;
  counts = {};
  SessionRewards(u.start, u.end, u.length, 3, rule, rt, sl, &counts);
  EXPECT_EQ(counts.pending, 0u);
  EXPECT_EQ(counts.censored, 1u);
  // HORIZON: a censored return is valued as one of exactly 8 h: floor(10 / 8) = 1.
  rule.censored = RewardRule::Censored::kHorizon;
  SessionRewards(u.start, u.end, u.length, 3, rule, rt, sl);
  EXPECT_EQ(rt[0], 5);
  EXPECT_EQ(rt[1], 1);
  EXPECT_EQ(rt[2], 1);
  // Session lengths are not affected by censoring.
  EXPECT_EQ(sl[0], 0);
  EXPECT_EQ(sl[1], 1);
  EXPECT_EQ(sl[2], 1);
}

}  // namespace
}  // namespace resact
