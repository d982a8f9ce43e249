// ProgressDisplay: only stages started and not done are shown; plain lines
// carry no log prefix; on a terminal the line is rewritten in place, cut to
// the width, and cleared.
#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/progress.h"
#include "gtest/gtest.h"

namespace resact {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<StageProgress> Stages() {
  return {
      {"ingest", "1.20M rows  480.0k rows/s  100%", true, true},  // Done.
      {"sessionize", "900.0k rows  300.0k rows/s [sorting]", true, false},
      {"reward", "0 rows  0 rows/s", false, false},  // Not started.
      {"replay", "12 rows  4 rows/s", true, false},
  };
}

TEST(ProgressDisplay, PlainModeShowsTheActiveStagesOnOneUnprefixedLine) {
  std::string out;
  ProgressDisplay d(&out, /*terminal=*/false);
  d.Update(12.34, Stages());
  EXPECT_EQ(out,
            "progress  12.3s  [sessionize] 900.0k rows  300.0k rows/s [sorting] | "
            "[replay] 12 rows  4 rows/s\n");
  EXPECT_THAT(out, Not(HasSubstr("ingest")));
  EXPECT_THAT(out, Not(HasSubstr("reward")));
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);

  // A second interval is a second line; nothing when no stage is active.
  d.Update(17.0, Stages());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  std::vector<StageProgress> all_done = Stages();
  for (auto& s : all_done) s.done = true;
  d.Update(20.0, all_done);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);

  d.Clear();  // Nothing to clear in plain mode.
  d.WriteLine("[ingest] done: 1.20M rows");
  EXPECT_THAT(out, ::testing::EndsWith("4 rows/s\n[ingest] done: 1.20M rows\n"));
}

TEST(ProgressDisplay, TerminalModeRewritesOneLineInPlace) {
  std::string out;
  ProgressDisplay d(&out, /*terminal=*/true, /*width=*/200);
  d.Update(1.0, Stages());
  EXPECT_EQ(out,
            "\rprogress  1.0s  [sessionize] 900.0k rows  300.0k rows/s [sorting] | "
            "[replay] 12 rows  4 rows/s\x1b[K");
  EXPECT_EQ(out.find('\n'), std::string::npos);

  out.clear();
  d.WriteLine("[ingest] done: 1.20M rows");  // Clears the progress line first.
  EXPECT_EQ(out, "\r\x1b[K[ingest] done: 1.20M rows\n");
  out.clear();
  d.Clear();  // Nothing shown any more.
  EXPECT_EQ(out, "");

  d.Update(2.0, Stages());
  out.clear();
  d.Clear();
  EXPECT_EQ(out, "\r\x1b[K");
}

TEST(ProgressDisplay, TerminalLinesAreCutToTheWidth) {
  std::string out;
  ProgressDisplay d(&out, /*terminal=*/true, /*width=*/30);
  d.Update(1.0, Stages());
  ASSERT_EQ(out.substr(0, 1), "\r");
  ASSERT_THAT(out, ::testing::EndsWith("\x1b[K"));
  const std::string text = out.substr(1, out.size() - 1 - 3);
  EXPECT_EQ(text, std::string("progress  1.0s  [sessionize] 900.0k rows").substr(0, 29));
}

TEST(ProgressDisplay, AStageHasStartedWithRowsOrAPhase) {
  Progress p;
  EXPECT_FALSE(p.started());
  p.SetPhase("opening");
  EXPECT_TRUE(p.started());
  Progress q;
  q.AddRows(1);
  EXPECT_TRUE(q.started());
  Progress r;
  r.SetTotal(40, "cells");
  EXPECT_TRUE(r.started());
}

// A stage counting in the unit of its total shows "done of total unit".
TEST(ProgressDisplay, AStageWithATotalAndNoRowsShowsItsUnits) {
  Progress p;
  p.SetTotal(40, "cells");
  p.SetDone(10);
  EXPECT_THAT(p.Line(), ::testing::StartsWith("10 of 40 cells  25%"));
  Progress q;
  q.SetTotal(40, "cells");
  q.AddRows(5);
  EXPECT_THAT(q.Line(), ::testing::StartsWith("5 rows  "));
}

TEST(ProgressDisplay, ForStderrWritesToStderr) {
  ProgressDisplay d = ProgressDisplay::ForStderr();
  EXPECT_GT(d.width(), 1);
  ::testing::internal::CaptureStderr();
  // Captured stderr is a file, never a terminal.
  ProgressDisplay plain(stderr, /*terminal=*/false);
  plain.Update(3.0, Stages());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, ::testing::StartsWith("progress  3.0s  [sessionize]"));
}

}  // namespace
}  // namespace resact
