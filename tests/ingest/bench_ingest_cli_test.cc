// `resact bench ingest --no-header` reads a csv without its header line (the
// columns user, item, timestamp by position), as the reader's has_header
// option does; the rows it reports are the file's. No timing is checked.
#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "tests/ingest/ingest_test_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using testing_util::RunResactShell;


TEST(BenchIngestCli, NoHeaderReadsEveryLineAsARow) {
  ingest_test::TempFolder tmp;
  const std::string body = "1,10,1600000000\n1,11,1600000060\n2,10,1600000100\n";
  const std::string headerless = tmp.Write("log.csv", body);
  auto r = RunResactShell("bench ingest --threads 1 --input " + headerless + " --no-header");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(ingest_test::Contains(r.output, "\"rows\":3,")) << r.output;
  // Without --no-header the first line is taken as the header, which lacks
  // the default column names.
  auto h = RunResactShell("bench ingest --threads 1 --input " + headerless);
  EXPECT_NE(h.exit_code, 0) << h.output;
  EXPECT_TRUE(ingest_test::Contains(h.output, "the header has no column 'user'")) << h.output;
  const std::string with_header = tmp.Write("h.csv", "user,item,timestamp\n" + body);
  auto w = RunResactShell("bench ingest --threads 1 --input " + with_header);
  ASSERT_EQ(w.exit_code, 0) << w.output;
  EXPECT_TRUE(ingest_test::Contains(w.output, "\"rows\":3,")) << w.output;
  EXPECT_EQ(RunResactShell("bench ingest --input " + headerless +
                           " --no-header --format movielens")
                .exit_code,
            2);
}

}  // namespace
}  // namespace resact
