#include <cmath>

#include "gmock/gmock.h"
#include "graph/stage_runner.h"
#include "gtest/gtest.h"
#include "stages/reward/reward.h"

namespace resact {
namespace {

struct Row {
  int64_t user, item, ts_s;
};

// Runs Sessionize (gap 1800 s) then Reward on `rows`; returns per user the
// (r_rt, r_sl) of each session, and the stats.
struct Result {
  std::map<int64_t, std::vector<std::pair<int, int>>> rewards;
  std::map<int64_t, std::vector<float>> return_hours;
  std::shared_ptr<const RewardStats> stats;
};

Result RunRewards(const std::vector<Row>& rows) {
  Result res;
  auto sess = StageRunner::Create(R"pb(
    name: "sessionize" type: "Sessionize" input_stream: "r" output_stream: "s"
    options { [type.googleapis.com/resact.SessionizeOptions] { gap_seconds: 1800 } })pb");
  auto reward = StageRunner::Create(R"pb(
    name: "reward" type: "Reward" input_stream: "s" output_stream: "t")pb");
  EXPECT_TRUE(sess.ok() && reward.ok());
  auto b = std::make_shared<RequestBatch>();
  for (const Row& r : rows) {
    b->user.push_back(r.user);
    b->item.push_back(r.item);
    b->ts_ms.push_back(r.ts_s * 1000);
  }
  EXPECT_TRUE((*sess)->Feed(0, std::shared_ptr<const RequestBatch>(b)).ok());
  EXPECT_TRUE((*sess)->Close().ok());
  for (const Packet& p : (*sess)->outputs(0)) {
    EXPECT_TRUE((*reward)->Feed(0, p).ok());
  }
  EXPECT_TRUE((*reward)->Close().ok());
  for (const auto& rb : (*reward)->Outputs<SessionBatch>(0)) {
    res.stats = rb->reward_stats;
    for (size_t u = 0; u < rb->num_users(); ++u) {
      for (size_t s = rb->user_offset[u]; s < rb->user_offset[u + 1]; ++s) {
        res.rewards[rb->user[u]].emplace_back(rb->r_rt[s], rb->r_sl[s]);
        res.return_hours[rb->user[u]].push_back(rb->return_hours[s]);
      }
    }
  }
  return res;
}

// Hand-computed example (times in seconds, gap 1800 s):
//  user 1: sessions {0,100,200} {10000,10100} {20000}: δ = 9800 s, 9900 s
//  user 2: one session of three requests at the same instant
//  user 3: sessions {0,10} {2000} {100000..100003}: δ = 1990 s, 98000 s
// Return times (h): 2.7222, 2.75, 0.55278, 27.2222 → δ_75% = 2.75 + 0.25·(27.2222 − 2.75)
// = 8.86806 h.
//  user 1: δ_avg = 2.73611, cap 2.73611: r_rt = ⌊1.0051⌋=1, ⌊0.99495⌋=0, last 0.
//          η_avg = 2: r_sl = ⌊3/1.6⌋=1, ⌊2/1.6⌋=1, ⌊1/1.6⌋=0.
//  user 2: r_rt = 0 (last session), r_sl = ⌊3/2.4⌋ = 1.
//  user 3: δ_avg = 13.8875, cap 8.86806: r_rt = ⌊16.04⌋→5, ⌊0.3258⌋=0, last 0.
//          η_avg = 7/3, 0.8·η_avg = 1.86667: r_sl = ⌊1.071⌋=1, ⌊0.536⌋=0, ⌊2.143⌋=2.
TEST(Reward, HandComputedLog) {
  Result r = RunRewards({{1, 1, 10100}, {1, 2, 0}, {3, 1, 100003}, {1, 3, 100}, {2, 5, 500},
                  {1, 4, 200},   {1, 5, 10000}, {1, 6, 20000}, {2, 6, 500}, {2, 7, 500},
                  {3, 2, 0},     {3, 3, 10},    {3, 4, 2000},  {3, 5, 100000},
                  {3, 6, 100001}, {3, 7, 100002}});
  using P = std::vector<std::pair<int, int>>;
  EXPECT_EQ(r.rewards[1], (P{{1, 1}, {0, 1}, {0, 0}}));
  EXPECT_EQ(r.rewards[2], (P{{0, 1}}));
  EXPECT_EQ(r.rewards[3], (P{{5, 1}, {0, 0}, {0, 2}}));
  ASSERT_NE(r.stats, nullptr);
  EXPECT_NEAR(r.stats->return_p75_hours, 2.75 + 0.25 * (98000.0 / 3600 - 2.75), 1e-9);
  EXPECT_EQ(r.stats->users, 3u);
  EXPECT_EQ(r.stats->sessions, 7u);
  EXPECT_EQ(r.stats->requests, 16u);
  EXPECT_EQ(r.stats->gap_seconds, 1800);
  EXPECT_NEAR(r.return_hours[1][0], 9800.0 / 3600, 1e-5);
  EXPECT_NEAR(r.return_hours[1][1], 9900.0 / 3600, 1e-5);
  EXPECT_TRUE(std::isnan(r.return_hours[1][2]));
  EXPECT_TRUE(std::isnan(r.return_hours[2][0]));
}

TEST(Reward, RewardsAreClippedToZeroToFive) {
  // One user with a very long session among short ones: r_sl clips at 5.
  std::vector<Row> rows;
  int64_t t = 0;
  for (int s = 0; s < 10; ++s) {
    const int len = s == 0 ? 100 : 1;
    for (int k = 0; k < len; ++k) rows.push_back({1, k, t + k});
    t += 100000;
  }
  Result r = RunRewards(rows);
  EXPECT_EQ(r.rewards[1][0].second, 5);  // 100 / (0.8 · 10.9) = 11.5 → 5
  EXPECT_EQ(r.rewards[1][1].second, 0);
}

TEST(Reward, PercentileInterpolatesLikeNumpy) {
  std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(Percentile(v, 75), 3.25);
  v = {5};
  EXPECT_DOUBLE_EQ(Percentile(v, 75), 5);
  v = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 3);
}

}  // namespace
}  // namespace resact
