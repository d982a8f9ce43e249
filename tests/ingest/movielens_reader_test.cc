// MovieLensReader: the three formats with exact values, AUTO detection,
// folders and globs, every malformed-row case with its file:line message,
// max_bad_rows, batching, CRLF and the real ml-latest-small ratings.csv.
#include "stages/ingest/movielens_reader.h"

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/stage_runner.h"
#include "gtest/gtest.h"
#include "tests/ingest/ingest_test_util.h"

namespace resact {
namespace ingest_test {
namespace {

class MovieLensReaderTest : public RequestReaderTest {
 protected:
  MovieLensReaderTest() : RequestReaderTest("MovieLensReader") {}
};

TEST_F(MovieLensReaderTest, ReadsEachFormatWithExactValues) {
  // clang-format off
  const RowsCase cases[] = {
      // ML-1M has integer ratings, ML-10M halves: both are feedback.
      {"ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n6040::1097::4::956715569\n"
                      "71567::2107::3.5::912580553\n", "format: ML1M_DAT",
       {{1, 1, 6040, 71567}, {1193, 661, 1097, 2107},
        {978300760000, 978302109000, 956715569000, 912580553000}, {5, 3, 4, 3.5f}}},
      {"u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n",
       "format: ML100K_DATA",
       {{196, 186, 22}, {242, 302, 377}, {881250949000, 891717742000, 878887116000}, {3, 3, 1}}},
      {"ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n"
                      "610,170875,0.5,1493846415\n", "format: ML_LATEST_CSV",
       {{1, 1, 610}, {1, 3, 170875}, {964982703000, 964981247000, 1493846415000},
        {4.0f, 4.5f, 0.5f}}},
      // The csv columns are found by header name (format AUTO).
      {"other.csv", "userId,timestamp,extra,movieId,rating\n7,1000,x,42,2.5\n", "",
       {{7}, {42}, {1000000}, {2.5f}}},
  };
  // clang-format on
  for (const RowsCase& c : cases) ExpectReads(c);
}

TEST_F(MovieLensReaderTest, AutoDetectsEachFormatPerFile) {
  WriteFiles({{"mixed/a.dat", "1::10::5::100\n"},
              {"mixed/b.data", "2\t20\t4\t200\n"},
              {"mixed/c.csv", "userId,movieId,rating,timestamp\n3,30,3.5,300\n"}});
  auto batches = Read(Path("mixed/*"));  // format: AUTO is the default.
  ASSERT_TRUE(batches.ok()) << batches.status();
  ASSERT_EQ(batches->size(), 3u);  // A batch never spans two files.
  EXPECT_EQ((*batches)[0]->source, Path("mixed/a.dat"));
  EXPECT_EQ((*batches)[1]->source, Path("mixed/b.data"));
  EXPECT_EQ((*batches)[2]->source, Path("mixed/c.csv"));
  RequestBatch b = Concat(*batches);
  EXPECT_EQ(b.user, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(b.item, (std::vector<int64_t>{10, 20, 30}));
  EXPECT_EQ(b.ts_ms, (std::vector<int64_t>{100000, 200000, 300000}));
  EXPECT_EQ(b.feedback, (std::vector<float>{5, 4, 3.5f}));
}

TEST_F(MovieLensReaderTest, AutoRejectsAnUnknownLayout) {
  std::string file = Write("plain.txt", "\n1 2 3 4\n");
  auto batches = Read(file);
  EXPECT_TRUE(FailsWith(batches, absl::StatusCode::kInvalidArgument,
                        "plain.txt:2: cannot detect the MovieLens format"));
  EXPECT_TRUE(Contains(ErrorOf(batches), "'1 2 3 4'"));
}

TEST_F(MovieLensReaderTest, FolderTakesItsRatingsFile) {
  WriteFiles({{"ml-latest-small/movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\n"},
              {"ml-latest-small/ratings.csv", "userId,movieId,rating,timestamp\n5,6,1.0,7\n"},
              {"ml-100k/u.data", "8\t9\t2\t10\n"},
              {"ml-100k/u.item", "1|Toy Story (1995)|01-Jan-1995\n"}});

  auto latest = Read(Path("ml-latest-small"));
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0]->source, Path("ml-latest-small/ratings.csv"));
  EXPECT_EQ((*latest)[0]->user, (std::vector<int64_t>{5}));

  auto ml100k = Read(Path("ml-100k"));
  ASSERT_TRUE(ml100k.ok()) << ml100k.status();
  ASSERT_EQ(ml100k->size(), 1u);
  EXPECT_EQ((*ml100k)[0]->user, (std::vector<int64_t>{8}));
  EXPECT_EQ((*ml100k)[0]->ts_ms, (std::vector<int64_t>{10000}));

  // A glob whose matches are folders: each folder's ratings file, in order.
  auto both = Read(Path("ml-*"));
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(Concat(*both).user, (std::vector<int64_t>{8, 5}));
}

TEST_F(MovieLensReaderTest, GlobReadsSeveralFilesInNameOrder) {
  WriteFiles({{"parts/ratings-2.dat", "2::1::3::20\n2::2::4::21\n"},
              {"parts/ratings-1.dat", "1::1::5::10\n"},
              {"parts/ratings-3.dat", "3::3::1::30\n"},
              {"parts/notes.txt", "not ratings\n"}});
  auto batches = Read(Path("parts/ratings-*.dat"), "format: ML1M_DAT");
  ASSERT_TRUE(batches.ok()) << batches.status();
  EXPECT_EQ(BatchSizes(*batches), (std::vector<size_t>{1, 2, 1}));
  RequestBatch b = Concat(*batches);
  EXPECT_EQ(b.user, (std::vector<int64_t>{1, 2, 2, 3}));
  EXPECT_EQ(b.ts_ms, (std::vector<int64_t>{10000, 20000, 21000, 30000}));
}

TEST_F(MovieLensReaderTest, MissingInputsAreNotFoundNamingThePath) {
  EXPECT_TRUE(FailsWith(Read(Path("nope/ratings.dat")), absl::StatusCode::kNotFound,
                        Path("nope/ratings.dat")));
  auto no_match = Read(Path("*.dat"));
  EXPECT_TRUE(FailsWith(no_match, absl::StatusCode::kNotFound, Path("*.dat")));
  EXPECT_TRUE(Contains(ErrorOf(no_match), "no file matches the pattern"));
  Write("empty-folder/readme.txt", "nothing here\n");
  EXPECT_TRUE(FailsWith(Read(Path("empty-folder")), absl::StatusCode::kNotFound,
                        "none of ratings.csv, ratings.dat, u.data"));
}

TEST_F(MovieLensReaderTest, InvalidOptionsNameTheField) {
  EXPECT_TRUE(FailsWith(ReadOptions(""), absl::StatusCode::kInvalidArgument,
                        "path: required; the MovieLens ratings file, its folder, or a glob "
                        "pattern"));
  std::string file = Write("r.dat", "1::1::1::1\n");
  EXPECT_TRUE(FailsWith(Read(file, "batch_rows: 0"), absl::StatusCode::kInvalidArgument,
                        "field 'batch_rows': 0 is outside its range [1, 16777216]"));
  EXPECT_TRUE(FailsWith(Read(file, "max_bad_rows: -1"), absl::StatusCode::kInvalidArgument,
                        "max_bad_rows"));
}

// One malformed line (line 3, after the header and a good row) and the
// message it must give.
struct BadCsvRow {
  std::string line;
  std::string message;
};

class MovieLensReaderBadRowTest : public MovieLensReaderTest,
                                  public ::testing::WithParamInterface<BadCsvRow> {};

TEST_P(MovieLensReaderBadRowTest, NamesFileLineAndColumn) {
  std::string file = Write("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n" +
                                              GetParam().line + "\n1,3,4.0,964981247\n");
  auto batches = Read(file);
  EXPECT_TRUE(
      FailsWith(batches, absl::StatusCode::kInvalidArgument, file + ":3: " + GetParam().message));
  EXPECT_TRUE(Contains(ErrorOf(batches), "stage 'ingest'"));

  // The same row is skipped with max_bad_rows, and the others are read.
  auto runner = Run(Opts(file, "max_bad_rows: 1"));
  ASSERT_TRUE(runner.ok()) << runner.status();
  RequestBatch b = Concat((*runner)->Outputs<RequestBatch>(0));
  EXPECT_EQ(b.item, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(StageOf<MovieLensReader>(**runner).skipped_rows(), 1);
}

INSTANTIATE_TEST_SUITE_P(
    AllCases, MovieLensReaderBadRowTest,
    ::testing::Values(
        BadCsvRow{"1,2,3.0", "expected 4 fields separated by ',', got 3"},
        BadCsvRow{"1,2,3.0,964982703,9", "expected 4 fields separated by ',', got 5"},
        BadCsvRow{"   ", "expected 4 fields separated by ',', got 1"},
        BadCsvRow{",2,3.0,964982703", "column 'userId': empty field"},
        BadCsvRow{"1,,3.0,964982703", "column 'movieId': empty field"},
        BadCsvRow{"1,2,,964982703", "column 'rating': empty field"},
        BadCsvRow{"1,2,3.0,", "column 'timestamp': empty field"},
        BadCsvRow{"u1,2,3.0,964982703", "column 'userId': expected an integer, got 'u1'"},
        BadCsvRow{"1,2.5,3.0,964982703", "column 'movieId': expected an integer, got '2.5'"},
        BadCsvRow{"1,99999999999999999999,3.0,964982703",
                  "column 'movieId': expected an integer, got '99999999999999999999'"},
        BadCsvRow{"1,2,good,964982703", "column 'rating': expected a finite number, got 'good'"},
        BadCsvRow{"1,2,nan,964982703", "column 'rating': expected a finite number, got 'nan'"},
        BadCsvRow{"1,2,inf,964982703", "column 'rating': expected a finite number, got 'inf'"},
        BadCsvRow{"1,2,1e39,964982703", "column 'rating': expected a finite number, got '1e39'"},
        BadCsvRow{"1,2,3.0,abc", "column 'timestamp': expected an integer, got 'abc'"},
        BadCsvRow{"1,2,3.0,9.5", "column 'timestamp': expected an integer, got '9.5'"},
        BadCsvRow{"1,2,3.0,-5", "column 'timestamp': expected a non-negative timestamp, got '-5'"},
        BadCsvRow{"1,2,3.0,99999999999999999",
                  "column 'timestamp': expected a timestamp in seconds within range"}));

TEST_F(MovieLensReaderTest, BadDatAndDataRowsNameTheirDelimiterAndColumns) {
  const struct {
    std::string file, content, message;
  } cases[] = {
      {"ratings.dat", "1::1::5::10\n1::2::5\n", ":2: expected 4 fields separated by '::', got 3"},
      {"r2.dat", "1::1::5::10\n1::x::5::10\n",
       ":2: column 'MovieID': expected an integer, got 'x'"},
      {"u.data", "1\t1\t5\t10\n1 2 5 10\n", ":2: expected 4 fields separated by tab, got 1"},
      {"u2.data", "1\t1\t5\t10\n1\t2\t5\t-10\n",
       ":2: column 'timestamp': expected a non-negative timestamp, got '-10'"},
  };
  for (const auto& c : cases) {
    const std::string file = Write(c.file, c.content);
    EXPECT_TRUE(FailsWith(Read(file), absl::StatusCode::kInvalidArgument, file + c.message));
  }
}

TEST_F(MovieLensReaderTest, HeaderWithoutAColumnIsAnErrorNamingItAndTheHeader) {
  std::string file = Write("ratings.csv", "userId,movieId,rating,time\n1,1,4.0,964982703\n");
  // Not skippable: max_bad_rows does not apply to the header.
  auto batches = Read(file, "max_bad_rows: 100");
  EXPECT_TRUE(FailsWith(batches, absl::StatusCode::kInvalidArgument,
                        file + ":1: the header has no column 'timestamp'"));
  EXPECT_TRUE(Contains(ErrorOf(batches), "header: 'userId,movieId,rating,time'"));

  // ML_LATEST_CSV on a file without a header: the first row is no header.
  std::string no_header = Write("nh.csv", "1,1,4.0,964982703\n");
  auto nh = Read(no_header, "format: ML_LATEST_CSV");
  EXPECT_TRUE(Contains(ErrorOf(nh), no_header + ":1: the header has no column 'userId'"));
}

TEST_F(MovieLensReaderTest, UnreadableFileIsAnError) {
  std::string file = Write("ratings.dat", "1::1::5::10\n");
  auto runner = Create(Opts(file));
  ASSERT_TRUE(runner.ok()) << runner.status();
  std::filesystem::remove(file);  // Gone between Open() and Generate().
  EXPECT_TRUE(FailsWith((*runner)->Generate(), absl::StatusCode::kNotFound,
                        file + ": cannot open the file"));
}

TEST_F(MovieLensReaderTest, MaxBadRowsSkipsAndCountsThenFails) {
  std::string file = Write("ratings.dat",
                           "1::1::5::10\n"
                           "1::x::5::11\n"  // line 2: bad item
                           "2::2::4::20\n"
                           "2::3::4\n"        // line 4: 3 fields
                           "3::3::nan::30\n"  // line 5: bad rating
                           "3::4::1::31\n");
  {
    auto runner = Run(Opts(file, "max_bad_rows: 3"));
    ASSERT_TRUE(runner.ok()) << runner.status();
    RequestBatch b = Concat((*runner)->Outputs<RequestBatch>(0));
    EXPECT_EQ(b.user, (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(b.item, (std::vector<int64_t>{1, 2, 4}));
    EXPECT_EQ(StageOf<MovieLensReader>(**runner).skipped_rows(), 3);
    EXPECT_EQ(StageOf<MovieLensReader>(**runner).rows_read(), 3u);
    EXPECT_EQ((*runner)->progress().rows(), 3u);
  }
  {
    auto batches = Read(file, "max_bad_rows: 2");
    EXPECT_TRUE(FailsWith(batches, absl::StatusCode::kInvalidArgument,
                          "more than max_bad_rows (2) malformed rows"));
    EXPECT_TRUE(Contains(ErrorOf(batches), file + ":5: column 'Rating'"));
  }
  {
    auto batches = Read(file);  // max_bad_rows 0: the first one fails.
    ASSERT_FALSE(batches.ok());
    EXPECT_TRUE(Contains(ErrorOf(batches), file + ":2: column 'MovieID': expected an integer"));
  }
}

TEST_F(MovieLensReaderTest, SplitsIntoBatchesOfBatchRows) {
  std::string file =
      Write("u.data", "1\t1\t1\t1\n2\t2\t2\t2\n3\t3\t3\t3\n4\t4\t4\t4\n5\t5\t5\t5\n");
  auto batches = Read(file, "batch_rows: 2");
  ASSERT_TRUE(batches.ok()) << batches.status();
  EXPECT_EQ(BatchSizes(*batches), (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ((*batches)[1]->user, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ((*batches)[1]->feedback, (std::vector<float>{3, 4}));
  EXPECT_EQ(Concat(*batches).ts_ms, (std::vector<int64_t>{1000, 2000, 3000, 4000, 5000}));

  auto exact = Read(file, "batch_rows: 5");
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(BatchSizes(*exact), (std::vector<size_t>{5}));
}

TEST_F(MovieLensReaderTest, CrlfMissingFinalNewlineAndEmptyLines) {
  std::string file = Write("ratings.csv",
                           "\xEF\xBB\xBFuserId,movieId,rating,timestamp\r\n"
                           "1,1,4.0,964982703\r\n"
                           "\r\n"
                           "\n"
                           "1,3,4.5,964981247");  // No final newline.
  auto batches = Read(file);
  ASSERT_TRUE(batches.ok()) << batches.status();
  RequestBatch b = Concat(*batches);
  EXPECT_EQ(b.item, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(b.ts_ms, (std::vector<int64_t>{964982703000, 964981247000}));
  EXPECT_EQ(b.feedback, (std::vector<float>{4.0f, 4.5f}));

  // Line numbers count the empty lines.
  std::string bad = Write("bad.dat", "\n1::1::5::10\r\n\r\n1::1::5::x\r\n");
  auto e = Read(bad);
  EXPECT_TRUE(Contains(ErrorOf(e), bad + ":4: column 'Timestamp': expected an integer, got 'x'"));
}

TEST_F(MovieLensReaderTest, EmptyInputIsAnErrorUnlessAllowed) {
  std::string file = Write("ratings.csv", "");
  EXPECT_TRUE(FailsWith(Read(file), absl::StatusCode::kFailedPrecondition,
                        "no data rows in '" + file +
                            "' (1 file, empty (0 bytes)); set allow_empty: true to accept an "
                            "empty input"));
  std::string header_only = Write("h.csv", "userId,movieId,rating,timestamp\n");
  auto h = Read(header_only);
  EXPECT_TRUE(Contains(ErrorOf(h), "(1 file, header only)"));
  auto allowed = Read(header_only, "allow_empty: true");
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_TRUE(allowed->empty());
}

TEST_F(MovieLensReaderTest, TimestampsBefore1995AreMalformed) {
  std::string file = Write("ratings.dat", "1::1193::5::978300760\n1::661::3::978302\n");
  EXPECT_TRUE(FailsWith(ReadOptions(Window(file)), absl::StatusCode::kInvalidArgument,
                        file + ":2: column 'Timestamp': 978302 s (1970-01-12) is outside the "
                               "plausible window [1995-01-01, 2100-01-01] (options min_timestamp, "
                               "max_timestamp); MovieLens timestamps are Unix seconds from 1995 "
                               "on: is this a MovieLens ratings file?"));
  auto skipped = ReadOptions(Window(file, "max_bad_rows: 1"));
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ(Concat(*skipped).item, (std::vector<int64_t>{1193}));
}

TEST_F(MovieLensReaderTest, ReadsTheRealMlLatestSmall) {
  const std::string path = RESACT_SHARED_DIR "/data/ml-latest-small/ratings.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not there";
  auto runner = Run(Opts(path));
  ASSERT_TRUE(runner.ok()) << runner.status();
  auto batches = (*runner)->Outputs<RequestBatch>(0);
  EXPECT_EQ(BatchSizes(batches), (std::vector<size_t>{65536, 35300}));
  RequestBatch b = Concat(batches);
  ASSERT_EQ(b.size(), 100836u);
  EXPECT_EQ(b.item.size(), 100836u);
  EXPECT_EQ(b.ts_ms.size(), 100836u);
  EXPECT_EQ(b.feedback.size(), 100836u);
  EXPECT_EQ(std::set<int64_t>(b.user.begin(), b.user.end()).size(), 610u);
  EXPECT_EQ(b.user[0], 1);
  EXPECT_EQ(b.item[0], 1);
  EXPECT_EQ(b.feedback[0], 4.0f);
  EXPECT_EQ(b.ts_ms[0], 964982703000);
  for (float r : b.feedback) {
    ASSERT_GE(r, 0.5f);
    ASSERT_LE(r, 5.0f);
  }
  EXPECT_EQ((*runner)->progress().rows(), 100836u);
}

}  // namespace
}  // namespace ingest_test
}  // namespace resact
