// UserFeatureReader: the exact table (sorted ids, row-major values), column
// selection by header name and by index, and every bad-input case with its
// file:line message; the table feeds StateFeatures' user_features input.
#include "stages/ingest/user_feature_reader.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/stage_runner.h"
#include "gtest/gtest.h"
#include "tests/ingest/ingest_test_util.h"

namespace resact {
namespace ingest_test {
namespace {

class UserFeatureReaderTest : public IngestTest {
 protected:
  UserFeatureReaderTest() : IngestTest("UserFeatureReader") {}

  // Runs the reader on `path` with more options; returns its one table.
  absl::StatusOr<std::shared_ptr<const UserFeatureTable>> Read(const std::string& path,
                                                               const std::string& more = "") {
    ASSIGN_OR_RETURN(auto runner, Run(absl::StrCat("path: \"", path, "\" ", more)));
    const std::vector<Packet>& packets = runner->outputs(0);
    if (packets.size() != 1) {
      return absl::InternalError(absl::StrCat("expected one packet, got ", packets.size()));
    }
    if (packets[0].type != PayloadType::kUserFeatures) {
      return absl::InternalError("the packet is not of kind user_features");
    }
    return packets[0].Share<UserFeatureTable>();
  }
};

TEST_F(UserFeatureReaderTest, DefaultsReadTheFirstColumnAsUserAndTheRestAsFeatures) {
  std::string file = Write("users.csv",
                           "user_id,a,b\n"
                           "30,1.5,-2\n"
                           "10,0.25,1e3\n"
                           "-4,0,3\n"
                           "9223372036854775807, 7 ,0.125\n");
  auto t = Read(file);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dim, 2);
  EXPECT_EQ((*t)->user_id, (std::vector<int64_t>{-4, 10, 30, 9223372036854775807}));
  EXPECT_EQ((*t)->values, (std::vector<float>{0.f, 3.f, 0.25f, 1000.f, 1.5f, -2.f, 7.f, 0.125f}));
  const float* row = (*t)->Find(30);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row[0], 1.5f);
  EXPECT_EQ(row[1], -2.f);
  EXPECT_EQ((*t)->Find(11), nullptr);
}

TEST_F(UserFeatureReaderTest, HeaderNamesSelectColumnsInTheGivenOrder) {
  std::string file = Write("users.csv",
                           "age, \"emb_1\" ,uid,emb_0,note\n"
                           "31,0.5,2,-0.5,hello\n"
                           "45,1,1,2,world\n");
  auto t = Read(file,
                "user_column: \"uid\" feature_columns: \"emb_0\" feature_columns: \"emb_1\" "
                "feature_columns: \"age\"");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dim, 3);
  EXPECT_EQ((*t)->user_id, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*t)->values, (std::vector<float>{2.f, 1.f, 45.f, -0.5f, 0.5f, 31.f}));
  // The user column by name, every other column a feature: "note" is not
  // numeric, so that is an error naming it.
  auto all = Read(file, "user_column: \"uid\"");
  EXPECT_TRUE(
      Contains(ErrorOf(all), file + ":2: column 'note': expected a finite number, got 'hello'"));
  // A header name made of digits wins over the index; an index selects
  // when no header name matches.
  auto digits =
      Read(Write("d.csv", "x,2,id\n5,6,7\n"), "user_column: \"2\" feature_columns: \"0\"");
  ASSERT_TRUE(digits.ok()) << digits.status();
  EXPECT_EQ((*digits)->user_id, (std::vector<int64_t>{6}));
  EXPECT_EQ((*digits)->values, (std::vector<float>{5.f}));
}

TEST_F(UserFeatureReaderTest, IndicesWithoutHeaderAndOtherDelimiters) {
  std::string file = Write("users.tsv", "0.5\t-1\t8\n1.5\t2\t3\n");
  auto t = Read(file, "delimiter: \"\\t\" has_header: false user_column: \"2\"");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dim, 2);
  EXPECT_EQ((*t)->user_id, (std::vector<int64_t>{3, 8}));
  EXPECT_EQ((*t)->values, (std::vector<float>{1.5f, 2.f, 0.5f, -1.f}));
  auto multi = Read(Write("m.txt", "u::f\n2::0.5\n1:: -0.5\n"), "delimiter: \"::\"");
  ASSERT_TRUE(multi.ok()) << multi.status();
  EXPECT_EQ((*multi)->user_id, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*multi)->values, (std::vector<float>{-0.5f, 0.5f}));
}

TEST_F(UserFeatureReaderTest, EmptyLinesCrlfAndByteOrderMarkAreAccepted) {
  std::string file = Write("users.csv", "\xEF\xBB\xBFuser,f\r\n\r\n2,1\r\n\n1,2");
  auto t = Read(file);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->user_id, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*t)->values, (std::vector<float>{2.f, 1.f}));
  // Lines are still numbered as in the file.
  std::string bad = Write("bad.csv", "user,f\r\n\r\n2,1\r\n\n1,x\r\n");
  EXPECT_TRUE(
      Contains(ErrorOf(Read(bad)), bad + ":5: column 'f': expected a finite number, got 'x'"));
}

// A bad file: its name, content and the reader's options, and the message
// after "FILE:" it must give (InvalidArgument).
struct BadInput {
  std::string file, content, options, message;
};

TEST_F(UserFeatureReaderTest, BadInputIsAnErrorNamingFileLineAndColumn) {
  const std::string kHeader = "user,a,b\n1,0,0\n";
  // clang-format off
  std::vector<BadInput> cases = {
      // Without a header the column is named by its index.
      {"n.csv", "1,0.5\n2,x\n", "has_header: false", ":2: column 1: expected a finite number, got 'x'"},
      // User ids that are not integers.
      {"u.csv", "user,a\n1,0\n1.5,0\n", "", ":3: column 'user': expected an integer user id, got '1.5'"},
      {"ue.csv", "user,a\n,0\n", "", ":2: column 'user': expected an integer user id, got an empty field"},
      // A wrong number of fields.
      {"less.csv", "user,a,b\n1,0,0\n2,0\n", "",
       ":3: expected 3 fields separated by ',' (as the header has), got 2"},
      {"more.csv", "user,a,b\n1,0,0,9\n", "",
       ":2: expected 3 fields separated by ',' (as the header has), got 4"},
      {"n.tsv", "1\t0\n2\t0\t0\n", "has_header: false delimiter: \"\\t\"",
       ":2: expected 2 fields separated by tab (as the first row has), got 3"},
      // No rows.
      {"empty.csv", "", "", ":1: the file is empty; expected a header line"},
      {"blank.csv", "\n\r\n\n", "", ":1: the file is empty"},
      {"empty.csv", "", "has_header: false", ":1: the file is empty; expected one row per user"},
      {"header.csv", "\nuser,a,b\n\n", "", ":2: the header is followed by no rows"},
      // The header and the column options.
      {"h.csv", kHeader, "user_column: \"uid\"", ":1: the header has no column 'uid' (user_column)"},
      {"h.csv", kHeader, "feature_columns: \"a\" feature_columns: \"c\"",
       ":1: the header has no column 'c' (feature_columns[1])"},
      {"h.csv", kHeader, "feature_columns: \"7\"",
       ":1: feature_columns[0]: column index 7 is beyond the header's 3"},
      // The same column by name and by index.
      {"h.csv", kHeader, "user_column: \"user\" feature_columns: \"0\"",
       ":1: feature_columns[0]: column 'user' is the user column"},
      {"h.csv", kHeader, "feature_columns: \"a\" feature_columns: \"1\"",
       ":1: feature_columns[1]: column 'a' is also feature_columns[0]"},
      {"only.csv", "user\n1\n", "", ":1: the header has only the user column (column 'user')"},
      {"short.csv", "1,2\n", "has_header: false user_column: \"2\"",
       ":1: user_column: column index 2 is beyond the first row's 2"},
  };
  // clang-format on
  // Features that are not finite numbers.
  for (const std::string& v : {"abc", "nan", "inf", "-Infinity", "1e60", "1.5x"}) {
    cases.push_back({"f.csv", kHeader + "2,0," + v + "\n", "",
                     ":3: column 'b': expected a finite number, got '" + v + "'"});
  }
  cases.push_back({"e.csv", kHeader + "2,0,\n", "",
                   ":3: column 'b': expected a finite number, got an empty field"});
  for (const BadInput& c : cases) {
    SCOPED_TRACE(c.file + " " + c.options);
    const std::string file = Write(c.file, c.content);
    EXPECT_TRUE(
        FailsWith(Read(file, c.options), absl::StatusCode::kInvalidArgument, file + c.message));
  }
}

TEST_F(UserFeatureReaderTest, DuplicateUserIsAnError) {
  std::string file = Write("users.csv", "user_id,a\n7,0\n3,0\n9,0\n3,1\n7,1\n3,2\n");
  // The first repetition in file order.
  EXPECT_TRUE(FailsWith(Read(file), absl::StatusCode::kInvalidArgument,
                        file + ":5: column 'user_id': user 3 appears again (first on line 3); "
                               "expected each user once"));
}

TEST_F(UserFeatureReaderTest, OptionAndPathErrors) {
  std::string file = Write("users.csv", "user,a\n1,0\n");
  EXPECT_TRUE(FailsWith(Create(""), absl::StatusCode::kInvalidArgument,
                        "path: required; the user feature file"));
  EXPECT_TRUE(Contains(ErrorOf(Read(file, "has_header: false user_column: \"user\"")),
                       "user_column: 'user' is not a 0-based column index"));
  EXPECT_TRUE(Contains(ErrorOf(Read(file, "user_column: \"a\" feature_columns: \"a\"")),
                       "feature_columns[0]: 'a' is the user column"));
  EXPECT_TRUE(Contains(ErrorOf(Read(file, "delimiter: \"\"")), "delimiter: must not be empty"));
  auto missing = Read(Path("missing.csv"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(ErrorOf(missing), Path("missing.csv")));
  Write("two/a.csv", "user,a\n1,0\n");
  Write("two/b.csv", "user,a\n2,0\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(Path("two"))), "names 2 files (" + Path("two/a.csv")));
  // A folder with one file is that file.
  Write("one/users.csv", "user,a\n5,0.5\n");
  auto one = Read(Path("one"));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ((*one)->user_id, (std::vector<int64_t>{5}));
}

// The table feeds StateFeatures with `user_features`: the user's row ends s_h.
TEST_F(UserFeatureReaderTest, TableFeedsStateFeatures) {
  auto table = Read(Write("users.csv", "user,x,y\n43,9,9\n42,0.5,-1.5\n"));
  ASSERT_TRUE(table.ok()) << table.status();
  auto runner = StageRunner::Create(R"pb(
    name: "features"
    type: "StateFeatures"
    input_stream: "s"
    input_stream: "i"
    input_stream: "u"
    output_stream: "o"
    options {
      [type.googleapis.com/resact.StateFeaturesOptions] { user_features: true }
    })pb",
                                    Path("work"));
  ASSERT_TRUE(runner.ok()) << runner.status();
  auto items = std::make_shared<ItemTable>();
  items->dim = 2;
  items->item_id = {10};
  items->embedding = {1.0f, 0.0f};
  auto sessions = std::make_shared<SessionBatch>();
  sessions->user = {42};
  sessions->is_test = {0};
  sessions->user_offset = {0, 1};
  sessions->session_offset = {0, 1};
  sessions->item = {10};
  sessions->ts_ms = {0};
  sessions->return_hours = {NAN};
  sessions->r_rt = {0};
  sessions->r_sl = {0};
  ASSERT_TRUE((*runner)->Feed(1, std::shared_ptr<const ItemTable>(items)).ok());
  ASSERT_TRUE((*runner)->Feed(2, *table).ok());
  ASSERT_TRUE((*runner)->Feed(0, std::shared_ptr<const SessionBatch>(sessions)).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  auto out = (*runner)->Outputs<ReplayBatch>(0);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0]->session_state_dim, 2 + 8 + 2);
  EXPECT_EQ(out[0]->session_state[10], 0.5f);
  EXPECT_EQ(out[0]->session_state[11], -1.5f);
}

}  // namespace
}  // namespace ingest_test
}  // namespace resact
