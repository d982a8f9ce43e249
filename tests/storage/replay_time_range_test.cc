// The replay meta records the time range of the log (first and last request),
// and `resact replay stats` prints it, or "unknown" for a store written
// before the meta had it.
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "storage/replay_batch_format.h"
#include "storage/replay_stats.h"
#include "tests/replay/replay_test_util.h"

namespace resact {
namespace {

using replay_test::HandBatch;
using replay_test::kT0;
using replay_test::kT1;

TEST(ReplayTimeRange, AccumulatedOverUsersInAnyOrder) {
  // HandBatch: user 7 from kT0 to kT0 + 36030000 ms, user -5 from kT1 to
  // kT1 + 120000 ms.
  ReplayMeta meta;
  EXPECT_FALSE(meta.has_first_request_ms());
  absl::flat_hash_set<int64_t> seen;
  AccumulateReplayCounts(*HandBatch(), &meta, &seen);
  AccumulateReplayCounts(*HandBatch(), &meta, &seen);  // Rewritten users: not counted again.
  FinalizeReplayCounts(&meta);
  EXPECT_EQ(meta.transitions(), 7u);
  EXPECT_EQ(meta.first_request_ms(), kT0);
  EXPECT_EQ(meta.last_request_ms(), kT1 + 120000);

  ReplayStats st;
  st.dir = "r";
  st.meta = meta;
  const std::string text = FormatReplayStats(st);
  EXPECT_NE(text.find(absl::StrFormat("%-28s %s\n", "requests from .. to",
                                      "2020-09-13 12:26:40 UTC (1600000000 s) .. 2020-09-14 "
                                      "16:15:20 UTC (1600100120 s), 1.2 days")),
            std::string::npos)
      << text;
}

TEST(ReplayTimeRange, AStoreWithoutTheFieldsPrintsUnknown) {
  ReplayStats st;
  st.dir = "old";
  st.meta.set_state(ReplayMeta::COMPLETE);
  st.meta.set_transitions(3);
  const std::string text = FormatReplayStats(st);
  EXPECT_NE(text.find(absl::StrFormat("%-28s %s\n", "requests from .. to",
                                      "unknown (written before the replay meta recorded it)")),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace resact
