// The readers' shared layer: lines across block boundaries, CRLF, a missing
// final newline, field splitting, and the number parsers.
#include "stages/ingest/line_reader.h"
#include "stages/ingest/fields.h"
#include "stages/ingest/input_files.h"

#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/ingest/ingest_test_util.h"

namespace resact {
namespace ingest {
namespace {

using ingest_test::TempFolder;

// Every line of `path` with its number, read with blocks of `block` bytes.
std::vector<std::pair<int64_t, std::string>> ReadAll(const std::string& path, size_t block) {
  LineReader reader(block);
  EXPECT_TRUE(reader.Open(path).ok());
  std::vector<std::pair<int64_t, std::string>> lines;
  absl::string_view line;
  while (reader.Next(&line)) lines.emplace_back(reader.line_number(), std::string(line));
  EXPECT_TRUE(reader.status().ok()) << reader.status();
  return lines;
}

// The expected lines of `content`, split naively.
std::vector<std::pair<int64_t, std::string>> NaiveLines(const std::string& content) {
  std::vector<std::pair<int64_t, std::string>> lines;
  std::string cur;
  int64_t n = 0;
  for (size_t i = 0; i < content.size(); ++i) {
    if (content[i] == '\n') {
      if (!cur.empty() && cur.back() == '\r') cur.pop_back();
      lines.emplace_back(++n, cur);
      cur.clear();
    } else {
      cur += content[i];
    }
  }
  if (!cur.empty()) {
    if (cur.back() == '\r') cur.pop_back();
    lines.emplace_back(++n, cur);
  }
  return lines;
}

TEST(LineReaderTest, LinesAcrossBlockBoundariesMatchANaiveSplit) {
  TempFolder tmp;
  const std::string content =
      "first\r\n\nsecond line is rather longer than the block\r\n\r\nx\ny\r\nlast no newline";
  std::string path = tmp.Write("lines.txt", content);
  const auto expected = NaiveLines(content);
  ASSERT_EQ(expected.size(), 7u);
  EXPECT_EQ(expected.back(), (std::pair<int64_t, std::string>{7, "last no newline"}));
  for (size_t block : {1, 2, 3, 5, 7, 16, 64, 1 << 20}) {
    EXPECT_EQ(ReadAll(path, block), expected) << "block " << block;
  }
}

TEST(LineReaderTest, RandomContentMatchesANaiveSplit) {
  TempFolder tmp;
  std::mt19937 rng(7);
  const char alphabet[] = "ab,\r\n\n";
  for (int trial = 0; trial < 40; ++trial) {
    std::string content;
    const int len = static_cast<int>(rng() % 200);
    for (int i = 0; i < len; ++i) content += alphabet[rng() % (sizeof(alphabet) - 1)];
    std::string path = tmp.Write("random.txt", content);
    for (size_t block : {1, 4, 13, 4096}) {
      ASSERT_EQ(ReadAll(path, block), NaiveLines(content)) << "trial " << trial;
    }
  }
}

TEST(LineReaderTest, EmptyFileByteOrderMarkAndReuse) {
  TempFolder tmp;
  LineReader reader(4);
  absl::string_view line;
  ASSERT_TRUE(reader.Open(tmp.Write("empty.txt", "")).ok());
  EXPECT_FALSE(reader.Next(&line));
  EXPECT_EQ(reader.line_number(), 0);

  ASSERT_TRUE(reader.Open(tmp.Write("bom.txt", "\xEF\xBB\xBFuser,item\n1,2\n")).ok());
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(std::string(line), "user,item");
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(std::string(line), "1,2");
  EXPECT_EQ(reader.line_number(), 2);
  EXPECT_FALSE(reader.Next(&line));
  EXPECT_EQ(reader.bytes_read(), 17u);

  absl::Status missing = reader.Open(tmp.Path("missing.txt"));
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(missing.message()).find("missing.txt: cannot open the file"),
            std::string::npos);
  EXPECT_FALSE(reader.Next(&line));
}

TEST(LineReaderTest, OverlongLineIsAnErrorNotAnUnboundedBuffer) {
  TempFolder tmp;
  std::string path = tmp.Write("long.txt", "short\n" + std::string(100, 'x') + "\nafter\n");
  LineReader reader(/*block_bytes=*/8, /*max_line_bytes=*/64);
  ASSERT_TRUE(reader.Open(path).ok());
  absl::string_view line;
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(std::string(line), "short");
  EXPECT_FALSE(reader.Next(&line));
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(reader.status().message()).find("long.txt:2: a line longer than 64 bytes"),
            std::string::npos)
      << reader.status();
  // Within the limit, the buffer grows.
  LineReader roomy(/*block_bytes=*/8, /*max_line_bytes=*/128);
  ASSERT_TRUE(roomy.Open(path).ok());
  ASSERT_TRUE(roomy.Next(&line));
  ASSERT_TRUE(roomy.Next(&line));
  EXPECT_EQ(line.size(), 100u);
  ASSERT_TRUE(roomy.Next(&line));
  EXPECT_EQ(std::string(line), "after");
}

TEST(LineReaderTest, FieldSplitterTrimsSpacesAndKeepsEmptyFields) {
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

TEST(LineReaderTest, NumberParsers) {
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

TEST(LineReaderTest, TimestampParser) {
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
      {"9223372036854775", TimeUnit::kSeconds, false, TimestampResult::kOk,
       9223372036854775000},
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

TEST(LineReaderTest, ResolveInputFilesOrderAndErrors) {
  TempFolder tmp;
  tmp.Write("d/b.csv", "x");
  tmp.Write("d/a.csv", "x");
  tmp.Write("d/.dot", "x");
  auto folder = ResolveInputFiles(tmp.Path("d"), {});
  ASSERT_TRUE(folder.ok()) << folder.status();
  EXPECT_EQ(*folder, (std::vector<std::string>{tmp.Path("d/a.csv"), tmp.Path("d/b.csv")}));
  auto named = ResolveInputFiles(tmp.Path("d"), {"c.csv", "b.csv", "a.csv"});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(*named, (std::vector<std::string>{tmp.Path("d/b.csv")}));
  auto pattern = ResolveInputFiles(tmp.Path("d/?.csv"), {});
  ASSERT_TRUE(pattern.ok()) << pattern.status();
  EXPECT_EQ(pattern->size(), 2u);
  EXPECT_EQ(TotalFileBytes(*pattern), 2u);
  EXPECT_EQ(ResolveInputFiles(tmp.Path("d/*.tsv"), {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ResolveInputFiles(tmp.Path("nothing"), {}).status().code(),
            absl::StatusCode::kNotFound);
}


// The same file reached twice is an error naming both paths as listed.
TEST(LineReaderTest, ResolveInputFilesRefusesTheSameFileTwice) {
  namespace fs = std::filesystem;
  TempFolder tmp;
  tmp.Write("d/a.csv", "x\n");
  tmp.Write("d/b.csv", "y\n");
  // A symlink in the folder to a file already listed.
  fs::create_symlink(tmp.Path("d/a.csv"), tmp.Path("d/link.csv"));
  auto folder = ResolveInputFiles(tmp.Path("d"), {}, {"*.csv"});
  ASSERT_EQ(folder.status().code(), absl::StatusCode::kInvalidArgument) << folder.status();
  EXPECT_TRUE(ingest_test::Contains(std::string(folder.status().message()),
                                    "'" + tmp.Path("d/a.csv") + "' and '" + tmp.Path("d/link.csv") +
                                        "' are the same file"));
  // A glob matching a file and a symlink to it.
  auto glob = ResolveInputFiles(tmp.Path("d/*.csv"), {});
  ASSERT_EQ(glob.status().code(), absl::StatusCode::kInvalidArgument) << glob.status();
  EXPECT_TRUE(ingest_test::Contains(std::string(glob.status().message()), tmp.Path("d/link.csv")));
  // A glob matching a folder and a symlink to a file inside it.
  tmp.Write("e/sub/c.csv", "z\n");
  fs::create_symlink(tmp.Path("e/sub/c.csv"), tmp.Path("e/top.csv"));
  auto nested = ResolveInputFiles(tmp.Path("e/*"), {});
  ASSERT_EQ(nested.status().code(), absl::StatusCode::kInvalidArgument) << nested.status();
  EXPECT_TRUE(ingest_test::Contains(std::string(nested.status().message()),
                                    "'" + tmp.Path("e/sub/c.csv") + "' and '" +
                                        tmp.Path("e/top.csv") + "'"));
  // A glob matching two folders, one a symlink to the other.
  tmp.Write("f/one/x.csv", "1\n");
  fs::create_directory_symlink(tmp.Path("f/one"), tmp.Path("f/two"));
  auto folders = ResolveInputFiles(tmp.Path("f/*"), {});
  ASSERT_EQ(folders.status().code(), absl::StatusCode::kInvalidArgument) << folders.status();
  EXPECT_TRUE(ingest_test::Contains(std::string(folders.status().message()),
                                    "'" + tmp.Path("f/one/x.csv") + "' and '" +
                                        tmp.Path("f/two/x.csv") + "'"));
  // A hard link.
  tmp.Write("g/a.csv", "x\n");
  fs::create_hard_link(tmp.Path("g/a.csv"), tmp.Path("g/b.csv"));
  EXPECT_EQ(ResolveInputFiles(tmp.Path("g"), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Distinct files with the same content are fine.
  tmp.Write("h/a.csv", "x\n");
  tmp.Write("h/b.csv", "x\n");
  auto distinct = ResolveInputFiles(tmp.Path("h/*.csv"), {});
  ASSERT_TRUE(distinct.ok()) << distinct.status();
  EXPECT_EQ(distinct->size(), 2u);
}

// A folder means its non-hidden regular files matching the patterns; the
// others are reported as skipped.
TEST(LineReaderTest, FolderPatternsSkipReadmesAndHiddenFiles) {
  TempFolder tmp;
  // What SimulatorLogSource's csv_dir holds, plus what people leave beside it.
  tmp.Write("logs/day-000.csv", "x\n");
  tmp.Write("logs/day-001.csv", "x\n");
  tmp.Write("logs/events.tsv", "x\n");
  tmp.Write("logs/README.txt", "about\n");
  tmp.Write("logs/README.md", "about\n");
  tmp.Write("logs/notes.md", "notes\n");
  tmp.Write("logs/.hidden.csv", "x\n");
  tmp.Write("logs/sub/inner.csv", "x\n");
  std::vector<std::string> skipped;
  auto files = ResolveInputFiles(tmp.Path("logs"), {}, DefaultFolderPatterns(), &skipped);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(*files, (std::vector<std::string>{tmp.Path("logs/day-000.csv"),
                                              tmp.Path("logs/day-001.csv"),
                                              tmp.Path("logs/events.tsv")}));
  EXPECT_EQ(skipped, (std::vector<std::string>{tmp.Path("logs/.hidden.csv"),
                                                tmp.Path("logs/README.md"),
                                                tmp.Path("logs/README.txt"),
                                                tmp.Path("logs/notes.md"), tmp.Path("logs/sub")}));
  // Own patterns.
  auto tsv = ResolveInputFiles(tmp.Path("logs"), {}, {"*.tsv"});
  ASSERT_TRUE(tsv.ok()) << tsv.status();
  EXPECT_EQ(*tsv, (std::vector<std::string>{tmp.Path("logs/events.tsv")}));
  auto none = ResolveInputFiles(tmp.Path("logs"), {}, {"*.parquet"});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(ingest_test::Contains(std::string(none.status().message()),
                                    "no regular file matching *.parquet"));
  // A glob reads every match, whatever its name.
  auto glob = ResolveInputFiles(tmp.Path("logs/README.*"), {}, DefaultFolderPatterns());
  ASSERT_TRUE(glob.ok()) << glob.status();
  EXPECT_EQ(glob->size(), 2u);
}

TEST(LineReaderTest, KnowsWhenTheLastLineHadNoNewline) {
  TempFolder tmp;
  const std::string cut = tmp.Write("cut.csv", "a\nb\n12");
  const std::string whole = tmp.Write("whole.csv", "a\nb\n12\n");
  const std::string crlf = tmp.Write("crlf.csv", "a\r\nb\r\n");
  LineReader reader(4);
  absl::string_view line;
  ASSERT_TRUE(reader.Open(cut).ok());
  int64_t last = 0;
  while (reader.Next(&line)) {
    EXPECT_FALSE(reader.last_line_unterminated() && reader.line_number() < 3);
    last = reader.line_number();
  }
  EXPECT_EQ(last, 3);
  EXPECT_TRUE(reader.last_line_unterminated());
  for (const std::string& f : {whole, crlf}) {
    ASSERT_TRUE(reader.Open(f).ok());  // Open() resets the flag.
    while (reader.Next(&line)) {
    }
    EXPECT_FALSE(reader.last_line_unterminated()) << f;
  }
}

TEST(LineReaderTest, TimestampWindowMessage) {
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
