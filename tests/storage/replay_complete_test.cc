// Readers refuse a replay store whose writer did not finish (meta WRITING)
// with one message, whichever opens it.
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/replay.pb.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"
#include "tests/replay/replay_test_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

TEST(ReplayComplete, AWritingStoreIsRefusedAsIncomplete) {
  testing_util::ScopedTempDir tmp("replay_complete");
  const std::filesystem::path dir = tmp / "writing";
  absl::Status written = replay_test::WriteUnfinishedStore(dir.string());
  ASSERT_TRUE(written.ok()) << written;
  const std::string want = "replay " + dir.string() +
                           " is incomplete (state WRITING: a run that wrote it did not finish); "
                           "re-run the pipeline that writes it";
  auto r = ReplayReader::Load(dir.string());
  ASSERT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_EQ(r.status().message(), want);

  ReplayMeta writing;
  writing.set_state(ReplayMeta::WRITING);
  absl::Status s = CheckReplayComplete(writing, dir.string());
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_EQ(s.message(), want);
  ReplayMeta complete;
  complete.set_state(ReplayMeta::COMPLETE);
  EXPECT_TRUE(CheckReplayComplete(complete, dir.string()).ok());

  // allow_incomplete still loads it for inspection.
  ReplayReaderOptions o;
  o.allow_incomplete = true;
  auto inspected = ReplayReader::Load(dir.string(), o);
  EXPECT_FALSE(absl::IsFailedPrecondition(inspected.status()) &&
               inspected.status().message() == want)
      << inspected.status();
}

}  // namespace
}  // namespace resact
