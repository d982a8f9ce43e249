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
namespace {

using ingest_test::Contains;
using ingest_test::ErrorOf;
using ingest_test::TempFolder;

// Runs the reader on `path` with more options; returns its one table.
absl::StatusOr<std::shared_ptr<const UserFeatureTable>> Read(const TempFolder& tmp,
                                                             const std::string& path,
                                                             const std::string& more = "") {
  const std::string spec = absl::StrCat(
      "name: \"profiles\" type: \"UserFeatureReader\" output_stream: \"profiles\" "
      "options { [type.googleapis.com/resact.UserFeatureReaderOptions] { path: \"",
      path, "\" ", more, " } }");
  ASSIGN_OR_RETURN(auto runner, StageRunner::Create(spec, tmp.Path("work")));
  RETURN_IF_ERROR(runner->Generate());
  RETURN_IF_ERROR(runner->Close());
  const std::vector<Packet>& packets = runner->outputs(0);
  if (packets.size() != 1) {
    return absl::InternalError(absl::StrCat("expected one packet, got ", packets.size()));
  }
  if (packets[0].type != PayloadType::kUserFeatures) {
    return absl::InternalError("the packet is not of kind user_features");
  }
  return packets[0].Share<UserFeatureTable>();
}

TEST(UserFeatureReaderTest, DefaultsReadTheFirstColumnAsUserAndTheRestAsFeatures) {
  TempFolder tmp;
  std::string file = tmp.Write("users.csv",
                               "user_id,a,b\n"
                               "30,1.5,-2\n"
                               "10,0.25,1e3\n"
                               "-4,0,3\n"
                               "9223372036854775807, 7 ,0.125\n");
  auto t = Read(tmp, file);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dim, 2);
  EXPECT_EQ((*t)->user_id, (std::vector<int64_t>{-4, 10, 30, 9223372036854775807}));
  EXPECT_EQ((*t)->values,
            (std::vector<float>{0.f, 3.f, 0.25f, 1000.f, 1.5f, -2.f, 7.f, 0.125f}));
  const float* row = (*t)->Find(30);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row[0], 1.5f);
  EXPECT_EQ(row[1], -2.f);
  EXPECT_EQ((*t)->Find(11), nullptr);
}

TEST(UserFeatureReaderTest, HeaderNamesSelectColumnsInTheGivenOrder) {
  TempFolder tmp;
  std::string file = tmp.Write("users.csv",
                               "age, \"emb_1\" ,uid,emb_0,note\n"
                               "31,0.5,2,-0.5,hello\n"
                               "45,1,1,2,world\n");
  auto t = Read(tmp, file,
                "user_column: \"uid\" feature_columns: \"emb_0\" feature_columns: \"emb_1\" "
                "feature_columns: \"age\"");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dim, 3);
  EXPECT_EQ((*t)->user_id, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*t)->values, (std::vector<float>{2.f, 1.f, 45.f, -0.5f, 0.5f, 31.f}));
  // The user column by name, every other column a feature: "note" is not
  // numeric, so that is an error naming it.
  auto all = Read(tmp, file, "user_column: \"uid\"");
  EXPECT_TRUE(Contains(ErrorOf(all),
                       file + ":2: column 'note': expected a finite number, got 'hello'"));
  // A header name made of digits wins over the index; an index selects
  // when no header name matches.
  auto digits = Read(tmp, tmp.Write("d.csv", "x,2,id\n5,6,7\n"),
                     "user_column: \"2\" feature_columns: \"0\"");
  ASSERT_TRUE(digits.ok()) << digits.status();
  EXPECT_EQ((*digits)->user_id, (std::vector<int64_t>{6}));
  EXPECT_EQ((*digits)->values, (std::vector<float>{5.f}));
}

TEST(UserFeatureReaderTest, IndicesWithoutHeaderAndOtherDelimiters) {
  TempFolder tmp;
  std::string file = tmp.Write("users.tsv", "0.5\t-1\t8\n1.5\t2\t3\n");
  auto t = Read(tmp, file, "delimiter: \"\\t\" has_header: false user_column: \"2\"");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dim, 2);
  EXPECT_EQ((*t)->user_id, (std::vector<int64_t>{3, 8}));
  EXPECT_EQ((*t)->values, (std::vector<float>{1.5f, 2.f, 0.5f, -1.f}));
  auto multi = Read(tmp, tmp.Write("m.txt", "u::f\n2::0.5\n1:: -0.5\n"), "delimiter: \"::\"");
  ASSERT_TRUE(multi.ok()) << multi.status();
  EXPECT_EQ((*multi)->user_id, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*multi)->values, (std::vector<float>{-0.5f, 0.5f}));
}

TEST(UserFeatureReaderTest, EmptyLinesCrlfAndByteOrderMarkAreAccepted) {
  TempFolder tmp;
  std::string file = tmp.Write("users.csv", "\xEF\xBB\xBFuser,f\r\n\r\n2,1\r\n\n1,2");
  auto t = Read(tmp, file);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->user_id, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*t)->values, (std::vector<float>{2.f, 1.f}));
  // Lines are still numbered as in the file.
  std::string bad = tmp.Write("bad.csv", "user,f\r\n\r\n2,1\r\n\n1,x\r\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, bad)),
                       bad + ":5: column 'f': expected a finite number, got 'x'"));
}

TEST(UserFeatureReaderTest, NonNumericOrNonFiniteFeaturesAreErrors) {
  TempFolder tmp;
  struct Case {
    std::string value, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"abc", "column 'b': expected a finite number, got 'abc'"},
           {"nan", "column 'b': expected a finite number, got 'nan'"},
           {"inf", "column 'b': expected a finite number, got 'inf'"},
           {"-Infinity", "column 'b': expected a finite number, got '-Infinity'"},
           {"1e60", "column 'b': expected a finite number, got '1e60'"},
           {"1.5x", "column 'b': expected a finite number, got '1.5x'"},
           {"", "column 'b': expected a finite number, got an empty field"},
       }) {
    std::string file = tmp.Write("users.csv", absl::StrCat("user,a,b\n1,0,0\n2,0,", c.value, "\n"));
    auto t = Read(tmp, file);
    ASSERT_FALSE(t.ok()) << c.value;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(ErrorOf(t), absl::StrCat(file, ":3: ", c.expected)));
  }
  // Without a header the column is named by its index.
  std::string file = tmp.Write("n.csv", "1,0.5\n2,x\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file, "has_header: false")),
                       file + ":2: column 1: expected a finite number, got 'x'"));
}

TEST(UserFeatureReaderTest, BadUserIdsAreErrors) {
  TempFolder tmp;
  std::string file = tmp.Write("users.csv", "user,a\n1,0\n1.5,0\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file)),
                       file + ":3: column 'user': expected an integer user id, got '1.5'"));
  file = tmp.Write("e.csv", "user,a\n,0\n");
  EXPECT_TRUE(Contains(
      ErrorOf(Read(tmp, file)),
      file + ":2: column 'user': expected an integer user id, got an empty field"));
}

TEST(UserFeatureReaderTest, WrongColumnCountIsAnError) {
  TempFolder tmp;
  std::string file = tmp.Write("users.csv", "user,a,b\n1,0,0\n2,0\n");
  auto t = Read(tmp, file);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(ErrorOf(t),
                       file + ":3: expected 3 fields separated by ',' (as the header has), got 2"));
  file = tmp.Write("more.csv", "user,a,b\n1,0,0,9\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file)),
                       file + ":2: expected 3 fields separated by ',' (as the header has), got 4"));
  file = tmp.Write("n.tsv", "1\t0\n2\t0\t0\n");
  EXPECT_TRUE(Contains(
      ErrorOf(Read(tmp, file, "has_header: false delimiter: \"\\t\"")),
      file + ":2: expected 2 fields separated by tab (as the first row has), got 3"));
}

TEST(UserFeatureReaderTest, DuplicateUserIsAnError) {
  TempFolder tmp;
  std::string file = tmp.Write("users.csv",
                               "user_id,a\n"
                               "7,0\n"
                               "3,0\n"
                               "9,0\n"
                               "3,1\n"
                               "7,1\n"
                               "3,2\n");
  auto t = Read(tmp, file);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  // The first repetition in file order.
  EXPECT_TRUE(Contains(ErrorOf(t), file + ":5: column 'user_id': user 3 appears again "
                                          "(first on line 3); expected each user once"));
}

TEST(UserFeatureReaderTest, EmptyFileOrNoRowsIsAnError) {
  TempFolder tmp;
  std::string empty = tmp.Write("empty.csv", "");
  auto t = Read(tmp, empty);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(ErrorOf(t), empty + ":1: the file is empty; expected a header line"));
  std::string blank = tmp.Write("blank.csv", "\n\r\n\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, blank)), blank + ":1: the file is empty"));
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, empty, "has_header: false")),
                       empty + ":1: the file is empty; expected one row per user"));
  std::string header_only = tmp.Write("header.csv", "\nuser,a,b\n\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, header_only)),
                       header_only + ":2: the header is followed by no rows"));
}

TEST(UserFeatureReaderTest, HeaderProblemsAreErrors) {
  TempFolder tmp;
  std::string file = tmp.Write("users.csv", "user,a,b\n1,0,0\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file, "user_column: \"uid\"")),
                       file + ":1: the header has no column 'uid' (user_column)"));
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file, "feature_columns: \"a\" feature_columns: \"c\"")),
                       file + ":1: the header has no column 'c' (feature_columns[1])"));
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file, "feature_columns: \"7\"")),
                       file + ":1: feature_columns[0]: column index 7 is beyond the header's 3"));
  // The same column by name and by index.
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file, "user_column: \"user\" feature_columns: \"0\"")),
                       file + ":1: feature_columns[0]: column 'user' is the user column"));
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file, "feature_columns: \"a\" feature_columns: \"1\"")),
                       file + ":1: feature_columns[1]: column 'a' is also feature_columns[0]"));
  std::string only_user = tmp.Write("only.csv", "user\n1\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, only_user)),
                       only_user + ":1: the header has only the user column (column 'user')"));
  std::string short_row = tmp.Write("short.csv", "1,2\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, short_row, "has_header: false user_column: \"2\"")),
                       short_row + ":1: user_column: column index 2 is beyond the first row's 2"));
}

TEST(UserFeatureReaderTest, OptionAndPathErrors) {
  TempFolder tmp;
  std::string file = tmp.Write("users.csv", "user,a\n1,0\n");
  auto no_path = StageRunner::Create(
      "name: \"p\" type: \"UserFeatureReader\" output_stream: \"p\"", tmp.Path("work"));
  EXPECT_TRUE(Contains(ErrorOf(no_path), "path: required"));
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file, "has_header: false user_column: \"user\"")),
                       "user_column: 'user' is not a 0-based column index"));
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file, "user_column: \"a\" feature_columns: \"a\"")),
                       "feature_columns[0]: 'a' is the user column"));
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, file, "delimiter: \"\"")),
                       "delimiter: must not be empty"));
  auto missing = Read(tmp, tmp.Path("missing.csv"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(ErrorOf(missing), tmp.Path("missing.csv")));
  tmp.Write("two/a.csv", "user,a\n1,0\n");
  tmp.Write("two/b.csv", "user,a\n2,0\n");
  EXPECT_TRUE(Contains(ErrorOf(Read(tmp, tmp.Path("two"))),
                       "names 2 files (" + tmp.Path("two/a.csv")));
  // A folder with one file is that file.
  tmp.Write("one/users.csv", "user,a\n5,0.5\n");
  auto one = Read(tmp, tmp.Path("one"));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ((*one)->user_id, (std::vector<int64_t>{5}));
}

// The table feeds StateFeatures with `user_features`: the user's row ends s_h.
TEST(UserFeatureReaderTest, TableFeedsStateFeatures) {
  TempFolder tmp;
  auto table = Read(tmp, tmp.Write("users.csv", "user,x,y\n43,9,9\n42,0.5,-1.5\n"));
  ASSERT_TRUE(table.ok()) << table.status();
  auto runner = StageRunner::Create(R"pb(
    name: "features" type: "StateFeatures"
    input_stream: "s" input_stream: "i" input_stream: "u" output_stream: "o"
    options { [type.googleapis.com/resact.StateFeaturesOptions] { user_features: true } })pb");
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
}  // namespace resact
