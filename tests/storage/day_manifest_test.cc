// The day manifest's decisions (storage/day_manifest.h): a new day appends,
// the same day again is a no-op, a changed day is an error unless
// re-ingesting is asked for, and a day older than the window is refused.
#include "storage/day_manifest.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace resact {
namespace {

DayRecord Day(const std::string& name, uint64_t rows, uint64_t checksum) {
  DayRecord d;
  d.set_name(name);
  d.set_ordinal(*DayOrdinal(name));
  d.set_rows(rows);
  d.set_checksum(checksum);
  return d;
}

TEST(DayManifest, OrdinalsOfDatesAndNumberedDays) {
  EXPECT_EQ(*DayOrdinal("1970-01-01"), 0);
  EXPECT_EQ(*DayOrdinal("1970-01-02.csv"), 1);
  EXPECT_EQ(*DayOrdinal("2000-03-01"), 11017);  // 30 years of days, 7 of them leap.
  EXPECT_EQ(*DayOrdinal("2026-11-28") - *DayOrdinal("2026-10-29"), 30);
  EXPECT_EQ(*DayOrdinal("2024-02-29"), *DayOrdinal("2024-03-01") - 1);
  EXPECT_EQ(*DayOrdinal("day-007.csv"), 7);
  EXPECT_EQ(*DayOrdinal("day_12"), 12);
  EXPECT_EQ(*DayOrdinal("3"), 3);
  for (const char* bad : {"2023-02-29", "2026-13-01", "logs", "day-", "day-1x", ""}) {
    auto o = DayOrdinal(bad);
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_THAT(o.status().message(), ::testing::HasSubstr("YYYY-MM-DD or day-N")) << bad;
  }
}

TEST(DayManifest, AppendNoOpReplaceAndRefusal) {
  DayManifest m;
  const DayDecisionOptions o;  // A window of 7 days.
  EXPECT_EQ(*DecideDay(m, Day("day-003", 10, 0xaa), o), DayAction::kAppend);
  m = WithDay(m, Day("day-003", 10, 0xaa));
  m = WithDay(m, Day("day-001", 5, 0xbb));  // Out of order, kept sorted.
  m = WithDay(m, Day("day-009", 8, 0xcc));
  ASSERT_EQ(m.day_size(), 3);
  EXPECT_EQ(m.day(0).name(), "day-001");
  EXPECT_EQ(m.day(2).name(), "day-009");

  EXPECT_EQ(*DecideDay(m, Day("day-003", 10, 0xaa), o), DayAction::kNoOp);
  auto changed = DecideDay(m, Day("day-003", 11, 0xab), o);
  ASSERT_FALSE(changed.ok());
  EXPECT_THAT(changed.status().message(), ::testing::HasSubstr("day day-003 was ingested"));
  EXPECT_THAT(changed.status().message(), ::testing::HasSubstr("reingest"));
  DayDecisionOptions again = o;
  again.reingest = true;
  EXPECT_EQ(*DecideDay(m, Day("day-003", 11, 0xab), again), DayAction::kReplace);
  // Within the window (day 9 is the newest: days 3..9 may still arrive).
  EXPECT_EQ(*DecideDay(m, Day("day-004", 1, 1), o), DayAction::kAppend);
  auto old = DecideDay(m, Day("day-002", 1, 1), o);
  ASSERT_FALSE(old.ok());
  EXPECT_THAT(old.status().message(),
              ::testing::HasSubstr("day day-002 is older than the window: the newest day "
                                   "ingested is 7 days later"));
  // Re-running a day now out of the window is still a no-op; changing it is not.
  EXPECT_EQ(*DecideDay(m, Day("day-001", 5, 0xbb), o), DayAction::kNoOp);
  EXPECT_FALSE(DecideDay(m, Day("day-001", 6, 0xbd), again).ok());

  m = WithDay(m, Day("day-003", 11, 0xab));
  ASSERT_EQ(m.day_size(), 3);
  EXPECT_EQ(m.day(1).rows(), 11u);
  EXPECT_EQ(m.day(1).replaced(), 1u);
  DayDecisionOptions zero;
  zero.window_days = 0;
  EXPECT_FALSE(DecideDay(m, Day("day-010", 1, 1), zero).ok());
}

}  // namespace
}  // namespace resact
