// End to end on ../shared/data/ml-latest-small: the shipped MovieLens spec
// turns 100,836 ratings into exactly 100,836 transitions, and the reward
// histograms equal an independent count made here with plain code.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "gtest/gtest.h"
#include "graph/spec.h"
#include "storage/replay_reader.h"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

const std::string kRatings = std::string(RESACT_SHARED_DIR) + "/data/ml-latest-small/ratings.csv";

struct Histograms {
  std::array<uint64_t, 6> rt{}, sl{};
  uint64_t sessions = 0;
};

// Straightforward re-implementation of sessions (gap 3600 s) and rewards.
Histograms IndependentCount() {
  std::ifstream in(kRatings);
  std::string line;
  std::getline(in, line);  // header
  std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> by_user;  // (ts, item)
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string user, item, rating, ts;
    std::getline(ss, user, ',');
    std::getline(ss, item, ',');
    std::getline(ss, rating, ',');
    std::getline(ss, ts, ',');
    by_user[std::stoll(user)].emplace_back(std::stoll(ts), std::stoll(item));
  }
  struct Session {
    int64_t start, end;
    double length;
  };
  std::map<int64_t, std::vector<Session>> sessions;
  std::vector<double> all_returns;
  for (auto& [user, rows] : by_user) {
    std::sort(rows.begin(), rows.end());
    auto& list = sessions[user];
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i == 0 || rows[i].first - rows[i - 1].first > 3600) {
        list.push_back({rows[i].first, rows[i].first, 0});
      }
      list.back().end = rows[i].first;
      list.back().length += 1;
    }
    for (size_t s = 0; s + 1 < list.size(); ++s) {
      all_returns.push_back((list[s + 1].start - list[s].end) / 3600.0);
    }
  }
  std::sort(all_returns.begin(), all_returns.end());
  const double pos = 0.75 * (all_returns.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const double p75 = all_returns[lo] + (all_returns[lo + 1] - all_returns[lo]) * (pos - lo);
  Histograms h;
  for (const auto& [user, list] : sessions) {
    double len_sum = 0, ret_sum = 0;
    for (size_t s = 0; s < list.size(); ++s) {
      len_sum += list[s].length;
      if (s + 1 < list.size()) ret_sum += (list[s + 1].start - list[s].end) / 3600.0;
    }
    const double len_avg = len_sum / list.size();
    const double ret_avg = list.size() > 1 ? ret_sum / (list.size() - 1) : 0;
    for (size_t s = 0; s < list.size(); ++s) {
      int rt = 0;
      if (s + 1 < list.size()) {
        const double delta = (list[s + 1].start - list[s].end) / 3600.0;
        rt = delta > 0 ? static_cast<int>(std::clamp(std::floor(std::min(ret_avg, p75) / delta), 0.0, 5.0)) : 5;
      }
      const int sl = static_cast<int>(std::clamp(std::floor(list[s].length / (0.8 * len_avg)), 0.0, 5.0));
      ++h.rt[rt];
      ++h.sl[sl];
      ++h.sessions;
    }
  }
  return h;
}

TEST(MovieLensEndToEnd, ReplayHoldsOneTransitionPerRatingAndTheRightRewards) {
  ASSERT_TRUE(std::filesystem::exists(kRatings)) << kRatings;
  auto spec = LoadSpec(std::string(RESACT_SOURCE_DIR) + "/pipelines/movielens.pbtxt");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(ApplyOverride(*spec, "ingest.path=" + kRatings).ok());
  testing_util::ScopedTempDir workdir("ml_e2e");
  auto summary = testing_util::BuildAndRun(*spec, workdir.path());
  ASSERT_TRUE(summary.ok()) << summary.status();

  auto replay = testing_util::LoadRunReplay(workdir.path());
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ((*replay)->num_transitions(), 100836u);
  EXPECT_EQ((*replay)->num_users(), 610u);
  EXPECT_EQ((*replay)->state_dim(), 59);

  Histograms want = IndependentCount();
  Histograms got;
  for (size_t s = 0; s < (*replay)->num_sessions(); ++s) {
    ++got.rt[(*replay)->session_r_rt(s)];
    ++got.sl[(*replay)->session_r_sl(s)];
    ++got.sessions;
  }
  EXPECT_EQ(got.sessions, want.sessions);
  EXPECT_EQ(got.rt, want.rt);
  EXPECT_EQ(got.sl, want.sl);
  // Rewards sit on the last request of each session only.
  uint64_t rewarded = 0;
  for (uint64_t t = 0; t < (*replay)->num_transitions(); ++t) {
    if (!(*replay)->last_in_session(t)) {
      EXPECT_EQ((*replay)->r_rt(t) + (*replay)->r_sl(t), 0);
    } else {
      ++rewarded;
    }
  }
  EXPECT_EQ(rewarded, want.sessions);
}

}  // namespace
}  // namespace resact
