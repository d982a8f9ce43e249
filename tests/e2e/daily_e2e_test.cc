// Daily ingestion through the binary and the shipped specs: a tiny simulated
// world's day files (pipelines/sim_days.pbtxt) ingested one run per day
// (pipelines/daily_ingest_sim.pbtxt), killed at each daily fault point and
// re-run, against one run over the same days.
#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "stages/replay/daily_ingest.h"
#include "storage/replay_store.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using testing_util::BinaryResult;
using testing_util::RunResact;
using testing_util::ScopedTempDir;

constexpr char kScale[] = "0.001";

using testing_util::ShippedSpec;

BinaryResult IngestDays(const std::string& workdir, const std::string& path,
                        const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"run",   ShippedSpec("daily_ingest_sim.pbtxt"),
                                   "--workdir", workdir,
                                   "--quiet", "--set",
                                   absl::StrCat("world.sim.scale=", kScale), "--set",
                                   absl::StrCat("ingest.path=", path)};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunResact(args);
}

// The store's content checksum and its meta, as bytes.
std::string StoreState(const std::string& workdir) {
  ReplayStoreOptions o;
  o.read_only = true;
  auto s = ReplayStore::Open(workdir + "/replay", o);
  if (!s.ok()) return absl::StrCat("(no store: ", s.status().ToString(), ")");
  auto meta = (*s)->ReadMeta();
  return absl::StrCat(*(*s)->ContentChecksum(), "|",
                      meta.ok() ? meta->SerializeAsString() : std::string("(no meta)"));
}

TEST(DailyE2E, DayByDayWithKillsAtEachFaultPointEqualsOneRun) {
  ScopedTempDir tmp("daily_e2e");
  const std::string days_dir = tmp.path() + "/gen";
  BinaryResult r = RunResact({"run", ShippedSpec("sim_days.pbtxt"), "--workdir", days_dir, "--quiet",
                              "--set", absl::StrCat("simulate.sim.scale=", kScale)});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto day = [&](int d) { return absl::StrFormat("%s/sim_days/day-%03d.csv", days_dir, d); };
  ASSERT_TRUE(std::filesystem::exists(day(3)));

  const std::string work = tmp.path() + "/work";
  for (int d = 0; d < 3; ++d) {
    r = IngestDays(work, day(d));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const std::string after_two = StoreState(work);
  // Killed before the day's write: the store is as it was.
  r = IngestDays(work, day(3), {"--fault", "daily.ingest"});
  ASSERT_EQ(r.signal, SIGKILL) << r.output;
  EXPECT_EQ(StoreState(work), after_two);
  r = IngestDays(work, day(3));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string after_three = StoreState(work);
  EXPECT_NE(after_three, after_two);
  // Killed right after it: the day is in; the re-run is a no-op.
  r = IngestDays(work, day(4), {"--fault", "daily.ingested"});
  ASSERT_EQ(r.signal, SIGKILL) << r.output;
  const std::string after_four = StoreState(work);
  EXPECT_NE(after_four, after_three);
  r = IngestDays(work, day(4));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("already ingested"), std::string::npos) << r.output;
  EXPECT_EQ(StoreState(work), after_four);

  // One run over days 0..4 (a glob) builds the same store.
  const std::string once = tmp.path() + "/once";
  r = IngestDays(once, absl::StrCat(days_dir, "/sim_days/day-00[0-4].csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(StoreState(once), after_four);

  // The day manifest records the five days, each once.
  ReplayStoreOptions o;
  o.read_only = true;
  auto store = ReplayStore::Open(work + "/replay", o);
  ASSERT_TRUE(store.ok());
  auto state = ReadDailyState(**store);
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->manifest().day_size(), 5);
  for (int d = 0; d < 5; ++d) {
    EXPECT_EQ(state->manifest().day(d).name(), absl::StrFormat("day-%03d", d));
    EXPECT_GT(state->manifest().day(d).rows(), 0u);
  }
}

}  // namespace
}  // namespace resact
