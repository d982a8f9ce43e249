// DelimitedLogReader: column mapping by name and index, optional and extra
// columns, timestamp units, delimiters, folders and globs, every malformed-row
// case with its file:line message, max_bad_rows, batching and CRLF.
#include "stages/ingest/delimited_log_reader.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/stage_runner.h"
#include "gtest/gtest.h"
#include "tests/ingest/ingest_test_util.h"

namespace resact {
namespace ingest_test {
namespace {

class DelimitedLogReaderTest : public RequestReaderTest {
 protected:
  // No header; user, item and timestamp are columns 0, 1 and 2.
  static constexpr char kByIndex[] =
      "has_header: false user_column: \"0\" item_column: \"1\" timestamp_column: \"2\" ";

  DelimitedLogReaderTest() : RequestReaderTest("DelimitedLogReader") {}
};

TEST_F(DelimitedLogReaderTest, MapsColumnsByNameOrIndexWithAnyDelimiter) {
  // clang-format off
  const RowsCase cases[] = {
      // The defaults: user, item, timestamp in seconds, with a header.
      {"log.csv", "user,item,timestamp\n10,100,1600000000\n11,-5,1600000001\n"
                  "9223372036854775807,0,0\n", "",
       {{10, 11, 9223372036854775807}, {100, -5, 0}, {1600000000000, 1600000001000, 0}}},
      // By header name, surrounding spaces and quotes dropped.
      {"names.csv", "time_ms, \"video_id\" ,note,user_id\n5000,7,hello,1\n6000 , 8 ,world, 2\n",
       "user_column: \"user_id\" item_column: \"video_id\" timestamp_column: \"time_ms\" "
       "timestamp_unit: MILLISECONDS",
       {{1, 2}, {7, 8}, {5000, 6000}}},
      // By index, without a header and with one.
      {"log.tsv", "100\t1\t7\t3\n200\t2\t8\t4\n",
       "delimiter: \"\\t\" has_header: false user_column: \"1\" item_column: \"2\" "
       "timestamp_column: \"0\" session_column: \"3\"",
       {{1, 2}, {7, 8}, {100000, 200000}, {}, {3, 4}}},
      {"ok.csv", "a,b,c\n1,2,3\n", "user_column: \"0\" item_column: \"1\" timestamp_column: \"2\"",
       {{1}, {2}, {3000}}},
      // A header name made of digits wins over the index.
      {"d.csv", "user,item,0\n1,2,3\n", "timestamp_column: \"0\"", {{1}, {2}, {3000}}},
      // Tab and multi-character delimiters.
      {"t.tsv", "user\titem\ttimestamp\n1\t2\t3\n", "delimiter: \"\\t\"", {{1}, {2}, {3000}}},
      {"m.txt", "user||item||timestamp\n4||5||6\n7|| 8 ||9\n", "delimiter: \"||\"",
       {{4, 7}, {5, 8}, {6000, 9000}}},
  };
  // clang-format on
  for (const RowsCase& c : cases) ExpectReads(c);
  // Messages use the header's name for a column mapped by index.
  const std::string file = Write("log.csv", "a,b,c\n1,2,3\n1,2,x\n");
  auto bad = Read(file, cases[3].options);
  EXPECT_TRUE(
      Contains(ErrorOf(bad), file + ":3: column 'c': expected a number (seconds), got 'x'"));
}

TEST_F(DelimitedLogReaderTest, OptionalAndExtraColumns) {
  ExpectReads({"log.csv",
               "user,item,timestamp,rating,sid,logp,f1,f2,unused\n"
               "1,10,100,4.5,7,-0.25,1.5,-2,z\n"
               "2,20,200,0,8,-3,0.125,1e3,z\n",
               "feedback_column: \"rating\" session_column: \"sid\" "
               "behaviour_logprob_column: \"logp\" extra_columns: \"f2\" extra_columns: \"f1\"",
               {{1, 2},
                {10, 20},
                {100000, 200000},
                {4.5f, 0.0f},
                {7, 8},
                {-0.25f, -3.0f},
                // Row-major, in the order of extra_columns.
                {-2.0f, 1.5f, 1000.0f, 0.125f},
                2}});
}

TEST_F(DelimitedLogReaderTest, TimestampUnits) {
  std::string file = Write("log.csv",
                           "user,item,timestamp\n"
                           "1,1,964982703\n"
                           "1,1,1.5\n"
                           "1,1,0.0005\n"
                           "1,1,1.6e9\n"
                           "1,1,.25\n"
                           "1,1,7.\n"
                           "1,1,1234567\n");
  auto s = Read(file);  // SECONDS is the default.
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(Concat(*s).ts_ms,
            (std::vector<int64_t>{964982703000, 1500, 0, 1600000000000, 250, 7000, 1234567000}));
  auto ms = Read(file, "timestamp_unit: MILLISECONDS");
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_EQ(Concat(*ms).ts_ms, (std::vector<int64_t>{964982703, 1, 0, 1600000000, 0, 7, 1234567}));
  auto us = Read(file, "timestamp_unit: MICROSECONDS");
  ASSERT_TRUE(us.ok()) << us.status();
  EXPECT_EQ(Concat(*us).ts_ms, (std::vector<int64_t>{964982, 0, 0, 1600000, 0, 0, 1234}));
}

TEST_F(DelimitedLogReaderTest, FolderReadsItsLogFilesByName) {
  // Hidden files, README.txt (not a default folder_pattern) and folders
  // inside are not read.
  WriteFiles({{"logs/b.csv", "user,item,timestamp\n2,2,2\n"},
              {"logs/a.csv", "user,item,timestamp\n1,1,1\n1,1,2\n"},
              {"logs/c.log", "user,item,timestamp\n3,3,3\n"},
              {"logs/.hidden", "garbage\n"},
              {"logs/.hidden.csv", "garbage\n"},
              {"logs/README.txt", "garbage\n"},
              {"logs/README.md", "garbage\n"},
              {"logs/sub/d.csv", "garbage\n"}});
  auto batches = Read(Path("logs"));
  ASSERT_TRUE(batches.ok()) << batches.status();
  ASSERT_EQ(batches->size(), 3u);
  EXPECT_EQ((*batches)[0]->source, Path("logs/a.csv"));
  EXPECT_EQ((*batches)[1]->source, Path("logs/b.csv"));
  EXPECT_EQ((*batches)[2]->source, Path("logs/c.log"));
  EXPECT_EQ(Concat(*batches).user, (std::vector<int64_t>{1, 1, 2, 3}));
}

TEST_F(DelimitedLogReaderTest, GlobReadsMatchesAcrossFolders) {
  WriteFiles({{"day-2/log.csv", "user,item,timestamp\n2,2,2\n"},
              {"day-1/log.csv", "user,item,timestamp\n1,1,1\n"},
              {"day-1/other.txt", "garbage\n"},
              {"day-3/log.csv", "user,item,timestamp\n3,3,3\n"}});
  auto batches = Read(Path("day-*/log.csv"));
  ASSERT_TRUE(batches.ok()) << batches.status();
  EXPECT_EQ(Concat(*batches).user, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ((*batches)[0]->source, Path("day-1/log.csv"));

  EXPECT_TRUE(FailsWith(Read(Path("day-*/missing.csv")), absl::StatusCode::kNotFound,
                        Path("day-*/missing.csv")));
  EXPECT_TRUE(FailsWith(Read(Path("work")), absl::StatusCode::kNotFound,
                        "no regular file matching *.csv, *.tsv"));
}

TEST_F(DelimitedLogReaderTest, InvalidOptionsNameTheField) {
  std::string file = Write("log.csv", "user,item,timestamp\n1,1,1\n");
  struct Case {
    std::string options;
    std::string message;
  };
  const Case cases[] = {
      {"", "path: required"},
      {Opts(file, "delimiter: \"\""), "delimiter: must not be empty"},
      {Opts(file, "has_header: false"),
       "user_column: 'user' is not a 0-based column index, and has_header is false"},
      {Opts(file, "item_column: \"\""), "item_column: must name a column"},
      {Opts(file, "batch_rows: -3"), "field 'batch_rows': -3 is outside its range [1, 16777216]"},
      {Opts(file, "max_bad_rows: -1"), "field 'max_bad_rows': -1 is outside its range [0, "},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(FailsWith(ReadOptions(c.options), absl::StatusCode::kInvalidArgument, c.message))
        << c.options;
  }
}

TEST_F(DelimitedLogReaderTest, HeaderWithoutAMappedColumnNamesItAndTheHeader) {
  std::string file = Write("log.csv", "user,item,time\n1,2,3\n");
  EXPECT_TRUE(FailsWith(Read(file, "max_bad_rows: 10"), absl::StatusCode::kInvalidArgument,
                        file + ":1: the header has no column 'timestamp' (timestamp_column); "
                               "header: 'user,item,time'"));

  std::string f2 = Write("log2.csv", "user,item,timestamp\n1,2,3\n");
  auto r2 = Read(f2, "feedback_column: \"rating\"");
  EXPECT_TRUE(
      Contains(ErrorOf(r2), f2 + ":1: the header has no column 'rating' (feedback_column)"));

  auto r3 = Read(f2, "extra_columns: \"7\"");
  EXPECT_TRUE(Contains(ErrorOf(r3), f2 + ":1: extra_columns[0]: column index 7 is beyond the "
                                         "header's 3 columns"));
}

struct BadRow {
  std::string line;
  std::string message;
};

class DelimitedLogReaderBadRowTest : public DelimitedLogReaderTest,
                                     public ::testing::WithParamInterface<BadRow> {};

// Header user,item,timestamp,fb,sid,lp,x with every optional column mapped;
// the malformed row is line 3.
TEST_P(DelimitedLogReaderBadRowTest, NamesFileLineAndColumn) {
  const std::string content =
      "user,item,timestamp,fb,sid,lp,x\n1,2,3,4,5,-6,7\n" + GetParam().line + "\n1,2,3,4,5,-6,7\n";
  const std::string options =
      "feedback_column: \"fb\" session_column: \"sid\" behaviour_logprob_column: \"lp\" "
      "extra_columns: \"x\"";
  std::string file = Write("log.csv", content);
  EXPECT_TRUE(FailsWith(Read(file, options), absl::StatusCode::kInvalidArgument,
                        file + ":3: " + GetParam().message));

  auto runner = Run(Opts(file, options + " max_bad_rows: 1"));
  ASSERT_TRUE(runner.ok()) << runner.status();
  RequestBatch b = Concat((*runner)->Outputs<RequestBatch>(0));
  // The two good rows with all their columns; nothing of the bad one.
  EXPECT_EQ(b.user.size(), 2u);
  EXPECT_EQ(b.feedback.size(), 2u);
  EXPECT_EQ(b.session_id.size(), 2u);
  EXPECT_EQ(b.behaviour_logprob.size(), 2u);
  EXPECT_EQ(b.extra, (std::vector<float>{7, 7}));
  EXPECT_EQ(StageOf<DelimitedLogReader>(**runner).skipped_rows(), 1);
}

INSTANTIATE_TEST_SUITE_P(
    AllCases, DelimitedLogReaderBadRowTest,
    ::testing::Values(
        BadRow{"1,2,3,4,5,-6", "expected 7 fields separated by ',' (as the header has), got 6"},
        BadRow{"1,2,3,4,5,-6,7,8", "expected 7 fields separated by ',' (as the header has), got 8"},
        BadRow{" ", "expected 7 fields separated by ',' (as the header has), got 1"},
        BadRow{",2,3,4,5,-6,7", "column 'user': empty field"},
        BadRow{"1,,3,4,5,-6,7", "column 'item': empty field"},
        BadRow{"1,2,,4,5,-6,7", "column 'timestamp': empty field"},
        BadRow{"1,2,3,,5,-6,7", "column 'fb': empty field"},
        BadRow{"1,2,3,4,,-6,7", "column 'sid': empty field"},
        BadRow{"1,2,3,4,5,,7", "column 'lp': empty field"},
        BadRow{"1,2,3,4,5,-6,", "column 'x': empty field"},
        BadRow{"abc,2,3,4,5,-6,7", "column 'user': expected an integer, got 'abc'"},
        BadRow{"1,0x2,3,4,5,-6,7", "column 'item': expected an integer, got '0x2'"},
        BadRow{"1,2,3,4,5.5,-6,7", "column 'sid': expected an integer, got '5.5'"},
        BadRow{"1,2,3,NaN,5,-6,7", "column 'fb': expected a finite number, got 'NaN'"},
        BadRow{"1,2,3,four,5,-6,7", "column 'fb': expected a finite number, got 'four'"},
        BadRow{"1,2,3,4,5,-inf,7", "column 'lp': expected a finite number, got '-inf'"},
        BadRow{"1,2,3,4,5,-6,nan", "column 'x': expected a finite number, got 'nan'"},
        BadRow{"1,2,abc,4,5,-6,7", "column 'timestamp': expected a number (seconds), got 'abc'"},
        BadRow{"1,2,1.2.3,4,5,-6,7",
               "column 'timestamp': expected a number (seconds), got '1.2.3'"},
        BadRow{"1,2,nan,4,5,-6,7", "column 'timestamp': expected a number (seconds), got 'nan'"},
        BadRow{"1,2,-1,4,5,-6,7",
               "column 'timestamp': expected a non-negative timestamp, got '-1'"},
        BadRow{"1,2,-0.5,4,5,-6,7",
               "column 'timestamp': expected a non-negative timestamp, got '-0.5'"},
        BadRow{"1,2,1e300,4,5,-6,7", "column 'timestamp': expected a timestamp within the int64"}));

TEST_F(DelimitedLogReaderTest, WithoutHeaderTheFirstRowFixesTheFieldCount) {
  std::string file = Write("log.csv", "1,2,3,9\n4,5,6\n");
  auto r = Read(file, kByIndex);
  EXPECT_TRUE(Contains(ErrorOf(r), file +
                                       ":2: expected 4 fields separated by ',' (as the first row "
                                       "has), got 3"));
  std::string short_first = Write("short.csv", "1,2\n4,5,6\n");
  auto r2 = Read(short_first, absl::StrCat(kByIndex, "max_bad_rows: 1"));
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(Concat(*r2).user, (std::vector<int64_t>{4}));
  auto r3 = Read(short_first, kByIndex);
  EXPECT_TRUE(Contains(ErrorOf(r3), short_first + ":1: expected at least 3 fields"));
}

TEST_F(DelimitedLogReaderTest, UnreadableFileIsAnError) {
  Write("logs/a.csv", "user,item,timestamp\n1,1,1\n");
  std::string b = Write("logs/b.csv", "user,item,timestamp\n2,2,2\n");
  auto runner = Create(Opts(Path("logs")));
  ASSERT_TRUE(runner.ok()) << runner.status();
  std::filesystem::remove(b);  // Gone between Open() and Generate().
  EXPECT_TRUE(FailsWith((*runner)->Generate(), absl::StatusCode::kNotFound,
                        b + ": cannot open the file: No such file or directory"));
  // The first file's rows went out before the error.
  EXPECT_EQ((*runner)->Outputs<RequestBatch>(0).size(), 1u);
}

TEST_F(DelimitedLogReaderTest, MaxBadRowsSkipsAndCountsAcrossFiles) {
  Write("logs/1.csv", "user,item,timestamp\n1,1,1\nx,1,1\n1,2,2\n");
  Write("logs/2.csv", "user,item,timestamp\n2,1,-1\n2,2,2\n2,3\n");
  const std::string more = "batch_rows: 1 max_bad_rows: 3";
  auto runner = Run(Opts(Path("logs"), more));
  ASSERT_TRUE(runner.ok()) << runner.status();
  RequestBatch b = Concat((*runner)->Outputs<RequestBatch>(0));
  EXPECT_EQ(b.user, (std::vector<int64_t>{1, 1, 2}));
  EXPECT_EQ(b.item, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(StageOf<DelimitedLogReader>(**runner).skipped_rows(), 3);
  EXPECT_EQ(StageOf<DelimitedLogReader>(**runner).rows_read(), 3u);

  auto over = Read(Path("logs"), "max_bad_rows: 2");
  ASSERT_FALSE(over.ok());
  EXPECT_TRUE(Contains(ErrorOf(over), "more than max_bad_rows (2) malformed rows; the last: " +
                                          Path("logs/2.csv") + ":4: expected 3 fields"));
}

TEST_F(DelimitedLogReaderTest, BatchesOfBatchRowsNeverSpanFiles) {
  Write("logs/a.csv", "user,item,timestamp\n1,1,1\n2,2,2\n3,3,3\n4,4,4\n5,5,5\n");
  Write("logs/b.csv", "user,item,timestamp\n6,6,6\n7,7,7\n8,8,8\n");
  auto batches = Read(Path("logs/a.csv"), "batch_rows: 2");
  ASSERT_TRUE(batches.ok()) << batches.status();
  EXPECT_EQ(BatchSizes(*batches), (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ((*batches)[2]->user, (std::vector<int64_t>{5}));

  auto both = Read(Path("logs/*.csv"), "batch_rows: 2");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(BatchSizes(*both), (std::vector<size_t>{2, 2, 1, 2, 1}));
  EXPECT_EQ(Concat(*both).user, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ((*both)[3]->source, Path("logs/b.csv"));
}

TEST_F(DelimitedLogReaderTest, CrlfMissingFinalNewlineAndEmptyLines) {
  std::string file = Write("log.csv",
                           "\r\nuser,item,timestamp,fb\r\n"
                           "1,2,3,0.5\r\n"
                           "\r\n"
                           "4,5,6,1.5");
  auto batches = Read(file, "feedback_column: \"fb\"");
  ASSERT_TRUE(batches.ok()) << batches.status();
  RequestBatch b = Concat(*batches);
  EXPECT_EQ(b.user, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(b.ts_ms, (std::vector<int64_t>{3000, 6000}));
  EXPECT_EQ(b.feedback, (std::vector<float>{0.5f, 1.5f}));

  std::string bad = Write("bad.csv", "user,item,timestamp\r\n\r\n1,2,x");
  auto e = Read(bad);
  EXPECT_TRUE(
      Contains(ErrorOf(e), bad + ":3: column 'timestamp': expected a number (seconds), got 'x'"));
}

TEST_F(DelimitedLogReaderTest, CountsRowsInProgress) {
  std::string rows = "user,item,timestamp\n";
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&rows, i % 7, ",", i, ",", 1000 + i, "\n");
  std::string file = Write("log.csv", rows);
  auto runner = Run(Opts(file, "batch_rows: 300"));
  ASSERT_TRUE(runner.ok()) << runner.status();
  EXPECT_EQ((*runner)->progress().rows(), 1000u);
  auto batches = (*runner)->Outputs<RequestBatch>(0);
  EXPECT_EQ(BatchSizes(batches), (std::vector<size_t>{300, 300, 300, 100}));
  RequestBatch b = Concat(batches);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(b.user[i], i % 7);
    ASSERT_EQ(b.item[i], i);
    ASSERT_EQ(b.ts_ms[i], (1000 + i) * int64_t{1000});
  }
}

TEST_F(DelimitedLogReaderTest, TimestampsOutsideThePlausibleWindowAreMalformed) {
  // Milliseconds read as seconds: 1600000000000 s is in the year 52671.
  std::string ms = Write("ms.csv", "user,item,timestamp\n1,1,1600000000000\n");
  auto r = ReadOptions(Window(ms));
  EXPECT_TRUE(FailsWith(r, absl::StatusCode::kInvalidArgument,
                        ms + ":2: column 'timestamp': 1600000000000 s ("));
  EXPECT_TRUE(Contains(ErrorOf(r),
                       "is outside the plausible window [1995-01-01, 2100-01-01] "
                       "(options min_timestamp, max_timestamp); are these "
                       "milliseconds read as seconds? (see timestamp_unit)"));
  // The same file with the right unit is fine.
  auto ok = ReadOptions(Window(ms, "timestamp_unit: MILLISECONDS"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(Concat(*ok).ts_ms, (std::vector<int64_t>{1600000000000}));

  // The year 3000, exactly as the message has it.
  std::string y3000 = Write("y3000.csv", "user,item,timestamp\n1,1,1600000000\n2,2,32503680000\n");
  auto r3000 = ReadOptions(Window(y3000));
  EXPECT_TRUE(
      Contains(ErrorOf(r3000),
               "): " + y3000 +
                   ":3: column 'timestamp': 32503680000 s (3000-01-01) is outside the plausible "
                   "window [1995-01-01, 2100-01-01] (options min_timestamp, max_timestamp); are "
                   "these milliseconds read as seconds? (see timestamp_unit) (max_bad_rows is 0; "
                   "set it to skip malformed rows)"));

  // Seconds read as milliseconds land in January 1970.
  std::string s = Write("s.csv", "user,item,timestamp\n1,1,1600000000\n");
  auto rs = ReadOptions(Window(s, "timestamp_unit: MILLISECONDS"));
  EXPECT_TRUE(Contains(ErrorOf(rs), s + ":2: column 'timestamp': 1600000 s (1970-01-19)"));
  EXPECT_TRUE(Contains(ErrorOf(rs), "are these seconds read as milliseconds?"));

  // Window rows count as malformed rows: max_bad_rows skips them.
  std::string mixed = Write(
      "mixed.csv", "user,item,timestamp\n1,1,1600000000\n1,2,5\n1,3,1600000100\n1,4,32503680000\n");
  auto runner = Run(Window(mixed, "max_bad_rows: 2"));
  ASSERT_TRUE(runner.ok()) << runner.status();
  EXPECT_EQ(Concat((*runner)->Outputs<RequestBatch>(0)).item, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(StageOf<DelimitedLogReader>(**runner).skipped_rows(), 2);
  // Own window.
  auto own =
      ReadOptions(Window(mixed, "min_timestamp: 0 max_timestamp: 1600000050 max_bad_rows: 2"));
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(Concat(*own).item, (std::vector<int64_t>{1, 2}));
  auto bad = ReadOptions(Window(mixed, "min_timestamp: 10 max_timestamp: 9"));
  EXPECT_TRUE(
      Contains(ErrorOf(bad), "min_timestamp (10 s, 1970-01-01) must not be after max_timestamp"));
}

TEST_F(DelimitedLogReaderTest, ReadsAFolderOfSimulatorDayFiles) {
  // The names and header SimulatorLogSource's csv_dir writes.
  const std::string header = "user,item,timestamp,feedback,behaviour_logprob\n";
  Write("sim/day-000.csv", header + "1,10,1600000000.000,0.5,-1.2\n2,11,1600000010.500,1,-0.5\n");
  Write("sim/day-001.csv", header + "1,12,1600086400.000,0.25,-2\n");
  Write("sim/README.txt", "how this log was made\n");
  Write("sim/.day-002.csv.swp", "garbage\n");
  auto batches = ReadOptions(
      Window(Path("sim"),
             "feedback_column: \"feedback\" behaviour_logprob_column: \"behaviour_logprob\""));
  ASSERT_TRUE(batches.ok()) << batches.status();
  const RequestBatch all = Concat(*batches);
  EXPECT_EQ(all.item, (std::vector<int64_t>{10, 11, 12}));
  EXPECT_EQ(all.ts_ms, (std::vector<int64_t>{1600000000000, 1600000010500, 1600086400000}));
  EXPECT_EQ(all.feedback, (std::vector<float>{0.5f, 1, 0.25f}));
}

TEST_F(DelimitedLogReaderTest, TheSameFileTwiceIsAnError) {
  std::string a = Write("logs/a.csv", "user,item,timestamp\n1,1,1600000000\n");
  std::filesystem::create_symlink(a, Path("logs/b.csv"));
  EXPECT_TRUE(FailsWith(Read(Path("logs")), absl::StatusCode::kInvalidArgument,
                        "'" + a + "' and '" + Path("logs/b.csv") + "' are the same file"));
}

TEST_F(DelimitedLogReaderTest, AnInputWithoutRowsIsAnErrorUnlessAllowed) {
  std::string header_only = Write("h.csv", "user,item,timestamp\n");
  EXPECT_TRUE(FailsWith(Read(header_only), absl::StatusCode::kFailedPrecondition,
                        "no data rows in '" + header_only +
                            "' (1 file, header only); set allow_empty: true to accept an empty "
                            "input"));
  std::string zero = Write("zero.csv", "");
  EXPECT_TRUE(Contains(ErrorOf(Read(zero)),
                       "no data rows in '" + zero +
                           "' (1 file, empty (0 bytes)); set allow_empty: true to accept an empty "
                           "input"));
  // A folder of empty files.
  WriteFiles({{"empty/a.csv", ""},
              {"empty/b.csv", "user,item,timestamp\n"},
              {"empty/c.csv", "\n\n"},
              {"empty/d.csv", "user,item,timestamp\nx,1,1\n"}});
  EXPECT_TRUE(FailsWith(Read(Path("empty"), "max_bad_rows: 5"),
                        absl::StatusCode::kFailedPrecondition,
                        "no data rows in '" + Path("empty") +
                            "' (4 files: 1 empty (0 bytes), 1 header only, 1 blank lines only, 1 "
                            "malformed rows only; 1 malformed rows skipped); set allow_empty: "
                            "true to accept an empty input"));
  // allow_empty: nothing emitted, no error.
  auto allowed = Read(Path("empty"), "max_bad_rows: 5 allow_empty: true");
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_TRUE(allowed->empty());
  // Without a header, a file of blank lines.
  std::string blank = Write("blank.csv", "\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(blank, kByIndex)), "(1 file, blank lines only)"));
}

}  // namespace
}  // namespace ingest_test
}  // namespace resact
