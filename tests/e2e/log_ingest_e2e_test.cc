// End to end on a hand-made log (tests/testdata/tiny_log.csv, the same log as
// tests/reward/reward_test.cc): the shipped generic-log spec gives the
// hand-computed rewards on each session's last request, done at each user's
// last request, and next states that cross session boundaries. The log's
// times are reward_test.cc's plus 978566400 s (2001-01-04 00:00 UTC, a whole
// number of weeks after the epoch, so hours of the day and weekdays are
// unchanged), inside the readers' plausible-time window.
#include <map>
#include <vector>

#include "gtest/gtest.h"
#include "graph/spec.h"
#include "storage/replay_reader.h"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

TEST(LogIngestEndToEnd, HandComputedRewardsInTheReplay) {
  auto spec = LoadSpec(std::string(RESACT_SOURCE_DIR) + "/pipelines/log_ingest.pbtxt");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(ApplyOverride(*spec, std::string("ingest.path=") + RESACT_SOURCE_DIR +
                                       "/tests/testdata/tiny_log.csv").ok());
  // Three users: keep them all in train so the embedding sees every item.
  ASSERT_TRUE(ApplyOverride(*spec, "sessionize.test_fraction=0").ok());
  ASSERT_TRUE(ApplyOverride(*spec, "embed.dim=4").ok());
  testing_util::ScopedTempDir workdir("tiny_e2e");
  auto summary = testing_util::BuildAndRun(*spec, workdir.path());
  ASSERT_TRUE(summary.ok()) << summary.status();

  auto replay = testing_util::LoadRunReplay(workdir.path());
  ASSERT_TRUE(replay.ok()) << replay.status();
  const ReplayReader& r = **replay;
  ASSERT_EQ(r.num_transitions(), 16u);
  ASSERT_EQ(r.num_users(), 3u);
  EXPECT_EQ(r.state_dim(), 3 * 4 + 11);
  std::map<int64_t, std::vector<std::pair<int, int>>> rewards;  // at session ends
  std::map<int64_t, int> dones;
  for (size_t u = 0; u < r.num_users(); ++u) {
    const auto range = r.user_transitions(u);
    for (uint64_t t = range.begin; t < range.end; ++t) {
      if (r.last_in_session(t)) rewards[r.user_id(u)].emplace_back(r.r_rt(t), r.r_sl(t));
      dones[r.user_id(u)] += r.done(t);
      EXPECT_EQ(r.done(t), t + 1 == range.end);
      EXPECT_EQ(r.has_next(t), t + 1 < range.end);
    }
  }
  using P = std::vector<std::pair<int, int>>;
  EXPECT_EQ(rewards[1], (P{{1, 1}, {0, 1}, {0, 0}}));
  EXPECT_EQ(rewards[2], (P{{0, 1}}));
  EXPECT_EQ(rewards[3], (P{{5, 1}, {0, 0}, {0, 2}}));
  EXPECT_EQ(dones[1] + dones[2] + dones[3], 3);

  // A session's last request links to the next session's first request:
  // the next state is that request's state.
  ReplaySample sample;
  for (uint64_t t = 0; t + 1 < r.num_transitions(); ++t) {
    if (!r.last_in_session(t) || !r.has_next(t)) continue;
    const uint64_t ids[1] = {t};
    r.Assemble(ids, 1, 1, 0, &sample);
    std::vector<float> next(r.state_dim());
    r.FillState(t + 1, next.data());
    for (int k = 0; k < r.state_dim(); ++k) EXPECT_EQ(sample.next_state[k], next[k]);
  }
}

}  // namespace
}  // namespace resact
