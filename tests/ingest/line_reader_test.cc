// The readers' shared layer: lines across block boundaries, CRLF, a missing
// final newline, field splitting, and the number parsers.
#include "stages/ingest/line_reader.h"

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

}  // namespace
}  // namespace ingest
}  // namespace resact
