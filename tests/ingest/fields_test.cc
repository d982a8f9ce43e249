// fields.h: field splitting, the number and timestamp parsers, and the
// plausible-time window with its message.
#include "stages/ingest/fields.h"

#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace resact {
namespace ingest {
namespace {

TEST(FieldsTest, FieldSplitterTrimsSpacesAndKeepsEmptyFields) {
  FieldSplitter comma(",");
  ASSERT_EQ(comma.Split(" 1 ,,3 , "), 4u);
  EXPECT_EQ(std::string(comma[0]), "1");
  EXPECT_EQ(std::string(comma[1]), "");
  EXPECT_EQ(std::string(comma[2]), "3");
  EXPECT_EQ(std::string(comma[3]), "");
  EXPECT_EQ(comma.Split(""), 1u);
  EXPECT_EQ(comma.Split("a,"), 2u);

  FieldSplitter colons("::");
  ASSERT_EQ(colons.Split("1::1193::5::978300760"), 4u);
  EXPECT_EQ(std::string(colons[3]), "978300760");
  ASSERT_EQ(colons.Split("a:::b"), 2u);
  EXPECT_EQ(std::string(colons[1]), ":b");
  EXPECT_EQ(DescribeDelimiter("\t"), "tab");
  EXPECT_EQ(DescribeDelimiter("::"), "'::'");
}

TEST(FieldsTest, NumberParsers) {
  int64_t i = 0;
  EXPECT_TRUE(ParseInt64("-42", &i));
  EXPECT_EQ(i, -42);
  EXPECT_FALSE(ParseInt64("", &i));
  EXPECT_FALSE(ParseInt64("+1", &i));
  EXPECT_FALSE(ParseInt64("1 ", &i));
  EXPECT_FALSE(ParseInt64("9223372036854775808", &i));
  float f = 0;
  EXPECT_TRUE(ParseFiniteFloat("3.5", &f));
  EXPECT_EQ(f, 3.5f);
  EXPECT_TRUE(ParseFiniteFloat("-1e-3", &f));
  EXPECT_FLOAT_EQ(f, -0.001f);
  for (const char* bad : {"", "nan", "inf", "-inf", "1e39", "1,5", "x"}) {
    EXPECT_FALSE(ParseFiniteFloat(bad, &f)) << bad;
  }
}

TEST(FieldsTest, TimestampParser) {
  struct Case {
    const char* text;
    TimeUnit unit;
    bool fraction;
    TimestampResult result;
    int64_t ms;
  };
  const Case cases[] = {
      {"964982703", TimeUnit::kSeconds, false, TimestampResult::kOk, 964982703000},
      {"0", TimeUnit::kSeconds, false, TimestampResult::kOk, 0},
      {"1.5", TimeUnit::kSeconds, false, TimestampResult::kNotANumber, 0},
      {"1.5", TimeUnit::kSeconds, true, TimestampResult::kOk, 1500},
      {"1.0009", TimeUnit::kSeconds, true, TimestampResult::kOk, 1000},
      {"1.001", TimeUnit::kSeconds, true, TimestampResult::kOk, 1001},
      {"1.6e9", TimeUnit::kSeconds, true, TimestampResult::kOk, 1600000000000},
      {"1234.9", TimeUnit::kMilliseconds, true, TimestampResult::kOk, 1234},
      {"1234999", TimeUnit::kMicroseconds, false, TimestampResult::kOk, 1234},
      {"-1", TimeUnit::kSeconds, false, TimestampResult::kNegative, 0},
      {"-1.5", TimeUnit::kSeconds, false, TimestampResult::kNegative, 0},
      {"-99999999999999999999", TimeUnit::kSeconds, false, TimestampResult::kNegative, 0},
      {"99999999999999999999", TimeUnit::kMilliseconds, false, TimestampResult::kOutOfRange, 0},
      {"9223372036854776", TimeUnit::kSeconds, false, TimestampResult::kOutOfRange, 0},
      {"9223372036854775", TimeUnit::kSeconds, false, TimestampResult::kOk, 9223372036854775000},
      {"abc", TimeUnit::kSeconds, true, TimestampResult::kNotANumber, 0},
      {"", TimeUnit::kSeconds, true, TimestampResult::kNotANumber, 0},
      {"inf", TimeUnit::kSeconds, true, TimestampResult::kNotANumber, 0},
      {"1e400", TimeUnit::kSeconds, true, TimestampResult::kNotANumber, 0},
  };
  for (const Case& c : cases) {
    int64_t ms = 0;
    EXPECT_EQ(ParseTimestampMs(c.text, c.unit, c.fraction, &ms), c.result) << c.text;
    if (c.result == TimestampResult::kOk) {
      EXPECT_EQ(ms, c.ms) << c.text;
    }
  }
}

TEST(FieldsTest, TimestampWindowMessage) {
  auto w = TimestampWindow::Make(788918400, 4102444800);
  ASSERT_TRUE(w.ok()) << w.status();
  w->hint_above = "are these milliseconds read as seconds? (see timestamp_unit)";
  EXPECT_TRUE(w->Contains(788918400000));
  EXPECT_TRUE(w->Contains(4102444800999));
  EXPECT_FALSE(w->Contains(788918399999));
  EXPECT_FALSE(w->Contains(4102444801000));
  EXPECT_EQ(TimestampWindowError("x.csv", 7, "column 'timestamp'", 32503680000000, *w).message(),
            "x.csv:7: column 'timestamp': 32503680000 s (3000-01-01) is outside the plausible "
            "window [1995-01-01, 2100-01-01] (options min_timestamp, max_timestamp); are these "
            "milliseconds read as seconds? (see timestamp_unit)");
  EXPECT_EQ(TimestampWindowError("x.csv", 2, "column 't'", 1500, *w).message(),
            "x.csv:2: column 't': 1.500 s (1970-01-01) is outside the plausible window "
            "[1995-01-01, 2100-01-01] (options min_timestamp, max_timestamp)");
  EXPECT_EQ(UtcDate(978566400), "2001-01-04");
  EXPECT_EQ(TimestampWindow::Make(10, 9).status().code(), absl::StatusCode::kInvalidArgument);
  auto all = TimestampWindow::Make(0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Contains(std::numeric_limits<int64_t>::max()));
  EXPECT_TRUE(all->Contains(0));
}

}  // namespace
}  // namespace ingest
}  // namespace resact
