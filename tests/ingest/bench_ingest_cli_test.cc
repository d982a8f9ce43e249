// `resact bench ingest --no-header` reads a csv without its header line (the
// columns user, item, timestamp by position), as the reader's has_header
// option does; the rows it reports are the file's. No timing is checked.
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/ingest/ingest_test_util.h"

namespace resact {
namespace {

using ingest_test::Contains;

// `bench ingest` writes its replay below TMPDIR: the test's own folder.
class BenchIngestCli : public ingest_test::IngestTest {
 protected:
  testing_util::BinaryResult Bench(std::vector<std::string> args) const {
    std::filesystem::create_directories(Path("tmp"));
    args.insert(args.begin(), {"bench", "ingest"});
    return testing_util::RunResact(args, {{"TMPDIR", Path("tmp")}});
  }
};

TEST_F(BenchIngestCli, NoHeaderReadsEveryLineAsARow) {
  const std::string body = "1,10,1600000000\n1,11,1600000060\n2,10,1600000100\n";
  const std::string headerless = Write("log.csv", body);
  auto r = Bench({"--threads", "1", "--input", headerless, "--no-header"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "\"rows\":3,")) << r.output;
  // Without --no-header the first line is taken as the header, which lacks
  // the default column names.
  auto h = Bench({"--threads", "1", "--input", headerless});
  EXPECT_NE(h.exit_code, 0) << h.output;
  EXPECT_TRUE(Contains(h.output, "the header has no column 'user'")) << h.output;
  const std::string with_header = Write("h.csv", "user,item,timestamp\n" + body);
  auto w = Bench({"--threads", "1", "--input", with_header});
  ASSERT_EQ(w.exit_code, 0) << w.output;
  EXPECT_TRUE(Contains(w.output, "\"rows\":3,")) << w.output;
  EXPECT_EQ(Bench({"--input", headerless, "--no-header", "--format", "movielens"}).exit_code, 2);
}

}  // namespace
}  // namespace resact
