// LineReader: lines across block boundaries, CRLF, a byte-order mark, a
// missing final newline, an overlong line, and one reader over many files.
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

class LineReaderTest : public ingest_test::IngestTest {};

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

TEST_F(LineReaderTest, LinesAcrossBlockBoundariesMatchANaiveSplit) {
  const std::string content =
      "first\r\n\nsecond line is rather longer than the block\r\n\r\nx\ny\r\nlast no newline";
  std::string path = Write("lines.txt", content);
  const auto expected = NaiveLines(content);
  ASSERT_EQ(expected.size(), 7u);
  EXPECT_EQ(expected.back(), (std::pair<int64_t, std::string>{7, "last no newline"}));
  for (size_t block : {1, 2, 3, 5, 7, 16, 64, 1 << 20}) {
    EXPECT_EQ(ReadAll(path, block), expected) << "block " << block;
  }
}

TEST_F(LineReaderTest, RandomContentMatchesANaiveSplit) {
  std::mt19937 rng(7);
  const char alphabet[] = "ab,\r\n\n";
  for (int trial = 0; trial < 40; ++trial) {
    std::string content;
    const int len = static_cast<int>(rng() % 200);
    for (int i = 0; i < len; ++i) content += alphabet[rng() % (sizeof(alphabet) - 1)];
    std::string path = Write("random.txt", content);
    for (size_t block : {1, 4, 13, 4096}) {
      ASSERT_EQ(ReadAll(path, block), NaiveLines(content)) << "trial " << trial;
    }
  }
}

TEST_F(LineReaderTest, EmptyFileByteOrderMarkAndReuse) {
  LineReader reader(4);
  absl::string_view line;
  ASSERT_TRUE(reader.Open(Write("empty.txt", "")).ok());
  EXPECT_FALSE(reader.Next(&line));
  EXPECT_EQ(reader.line_number(), 0);

  ASSERT_TRUE(reader.Open(Write("bom.txt", "\xEF\xBB\xBFuser,item\n1,2\n")).ok());
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(std::string(line), "user,item");
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(std::string(line), "1,2");
  EXPECT_EQ(reader.line_number(), 2);
  EXPECT_FALSE(reader.Next(&line));
  EXPECT_EQ(reader.bytes_read(), 17u);

  absl::Status missing = reader.Open(Path("missing.txt"));
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(missing.message()).find("missing.txt: cannot open the file"),
            std::string::npos);
  EXPECT_FALSE(reader.Next(&line));
}

TEST_F(LineReaderTest, OverlongLineIsAnErrorNotAnUnboundedBuffer) {
  std::string path = Write("long.txt", "short\n" + std::string(100, 'x') + "\nafter\n");
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

TEST_F(LineReaderTest, KnowsWhenTheLastLineHadNoNewline) {
  const std::string cut = Write("cut.csv", "a\nb\n12");
  const std::string whole = Write("whole.csv", "a\nb\n12\n");
  const std::string crlf = Write("crlf.csv", "a\r\nb\r\n");
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

}  // namespace
}  // namespace ingest
}  // namespace resact
