#include "stages/sessionize/sessionize.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/hash.h"
#include "tbb/global_control.h"
#include "graph/stage_runner.h"
#include "gtest/gtest.h"

namespace resact {
namespace {

struct Row {
  int64_t user, item, ts_s;
  float fb;
};

std::shared_ptr<const RequestBatch> Batch(const std::vector<Row>& rows) {
  auto b = std::make_shared<RequestBatch>();
  for (const Row& r : rows) {
    b->user.push_back(r.user);
    b->item.push_back(r.item);
    b->ts_ms.push_back(r.ts_s * 1000);
    b->feedback.push_back(r.fb);
  }
  b->source = "test";
  return b;
}

// All sessions of all emitted batches, as user → list of (item list) per session.
std::map<int64_t, std::vector<std::vector<int64_t>>> Collect(const StageRunner& runner) {
  std::map<int64_t, std::vector<std::vector<int64_t>>> out;
  for (const auto& b : runner.Outputs<SessionBatch>(0)) {
    for (size_t u = 0; u < b->num_users(); ++u) {
      EXPECT_EQ(out.count(b->user[u]), 0u) << "user split across batches";
      auto& sessions = out[b->user[u]];
      for (size_t s = b->user_offset[u]; s < b->user_offset[u + 1]; ++s) {
        std::vector<int64_t> items(b->item.begin() + b->session_offset[s],
                                   b->item.begin() + b->session_offset[s + 1]);
        sessions.push_back(items);
      }
    }
  }
  return out;
}

constexpr char kSpec[] = R"pb(
  name: "sessionize" type: "Sessionize" input_stream: "r" output_stream: "s"
  options { [type.googleapis.com/resact.SessionizeOptions] { gap_seconds: 1800 num_partitions: 4 batch_requests: 3 } }
)pb";

TEST(Sessionize, UnsortedInputGivesSessionsInTimeOrder) {
  auto runner = StageRunner::Create(kSpec);
  ASSERT_TRUE(runner.ok()) << runner.status();
  // User 1: sessions {0,100,200}, {10000,10100}, {20000}; fed shuffled over two batches.
  ASSERT_TRUE((*runner)->Feed(0, Batch({{1, 12, 10100, 1}, {1, 10, 100, 1}, {2, 5, 500, 1},
                                        {1, 13, 20000, 1}})).ok());
  ASSERT_TRUE((*runner)->Feed(0, Batch({{1, 11, 10000, 1}, {1, 9, 0, 1}, {1, 99, 200, 1},
                                        {2, 3, 500, 1}, {2, 4, 500, 1}})).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  auto got = Collect(**runner);
  using V = std::vector<std::vector<int64_t>>;
  EXPECT_EQ(got[1], (V{{9, 10, 99}, {11, 12}, {13}}));
  // Equal timestamps: one session, ties ordered by item id.
  EXPECT_EQ(got[2], (V{{3, 4, 5}}));
}

TEST(Sessionize, GapEqualToTheLimitStaysInTheSession) {
  auto runner = StageRunner::Create(kSpec);
  ASSERT_TRUE(runner.ok());
  ASSERT_TRUE((*runner)->Feed(0, Batch({{7, 1, 0, 1}, {7, 2, 1800, 1}, {7, 3, 3601, 1}})).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  auto got = Collect(**runner);
  EXPECT_EQ(got[7], (std::vector<std::vector<int64_t>>{{1, 2}, {3}}));
}

TEST(Sessionize, BatchesHoldWholeUsersInHashOrderWithSplitFlags) {
  auto runner = StageRunner::Create(kSpec);
  ASSERT_TRUE(runner.ok());
  std::vector<Row> rows;
  for (int64_t u = 0; u < 200; ++u) {
    for (int k = 0; k < 3; ++k) rows.push_back({u, k, 1000 * k, 1});
  }
  ASSERT_TRUE((*runner)->Feed(0, Batch(rows)).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  uint64_t prev_hash = 0;
  size_t users = 0, tests = 0, requests = 0;
  for (const auto& b : (*runner)->Outputs<SessionBatch>(0)) {
    EXPECT_EQ(b->gap_seconds, 1800);
    for (size_t u = 0; u < b->num_users(); ++u) {
      const uint64_t h = UserHash32(b->user[u]);
      EXPECT_GE(h, prev_hash);
      prev_hash = h;
      EXPECT_EQ(b->is_test[u], IsTestUser(b->user[u], 0.2, 0) ? 1 : 0);
      tests += b->is_test[u];
      ++users;
    }
    requests += b->num_requests();
    EXPECT_EQ(b->feedback.size(), b->num_requests());
  }
  EXPECT_EQ(users, 200u);
  EXPECT_EQ(requests, 600u);
  EXPECT_GT(tests, 20u);  // ~20% of 200 users.
  EXPECT_LT(tests, 60u);
}

constexpr char kLogSessionIdSpec[] = R"pb(
  name: "s" type: "Sessionize" input_stream: "r" output_stream: "s"
  options { [type.googleapis.com/resact.SessionizeOptions] { source: LOG_SESSION_ID } }
)pb";

TEST(Sessionize, LogSessionIdsDelimitSessions) {
  auto runner = StageRunner::Create(kLogSessionIdSpec);
  ASSERT_TRUE(runner.ok());
  auto b = std::make_shared<RequestBatch>();
  b->user = {1, 1, 1, 1};
  b->item = {1, 2, 3, 4};
  b->ts_ms = {0, 1000, 2000, 99000000};
  b->session_id = {5, 5, 6, 6};
  ASSERT_TRUE((*runner)->Feed(0, std::shared_ptr<const RequestBatch>(b)).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  EXPECT_EQ(Collect(**runner)[1], (std::vector<std::vector<int64_t>>{{1, 2}, {3, 4}}));
}

TEST(Sessionize, LogSessionIdsNeedASessionColumn) {
  auto runner = StageRunner::Create(kLogSessionIdSpec);
  ASSERT_TRUE(runner.ok());
  absl::Status s = (*runner)->Feed(0, Batch({{1, 1, 0, 1}}));
  EXPECT_THAT(s.message(), ::testing::HasSubstr("LOG_SESSION_ID needs a session column"));
}


// A hand-made log with known exact duplicates: user 1 has (item 5, t 100,
// feedback 1) three times (2 duplicates) and (item 5, t 100, feedback 2) once
// (same time and item, other feedback: not a duplicate); user 2 has
// (item 7, t 0, fb 1) twice (1 duplicate) and (item 7, t 0, extra 0.5 vs
// 0.25) rows that differ only in an extra feature; user 3 none. The rows
// arrive interleaved over three batches, so identical rows come from
// different chunks. 3 duplicates in all.
std::vector<std::shared_ptr<const RequestBatch>> DuplicateLog() {
  struct R {
    int64_t user, item, ts_s;
    float fb, extra;
  };
  const std::vector<std::vector<R>> batches = {
      {{1, 5, 100, 1, 0}, {2, 7, 0, 1, 0}, {3, 1, 10, 1, 0}, {1, 5, 100, 2, 0}},
      {{2, 7, 0, 1, 0.5f}, {1, 5, 100, 1, 0}, {3, 2, 10, 1, 0}, {1, 6, 50, 1, 0}},
      {{2, 7, 0, 1, 0}, {1, 5, 100, 1, 0}, {2, 7, 0, 1, 0.25f}, {3, 1, 11, 1, 0}}};
  std::vector<std::shared_ptr<const RequestBatch>> out;
  for (const auto& rows : batches) {
    auto b = std::make_shared<RequestBatch>();
    b->num_extra = 1;
    for (const R& r : rows) {
      b->user.push_back(r.user);
      b->item.push_back(r.item);
      b->ts_ms.push_back(r.ts_s * 1000);
      b->feedback.push_back(r.fb);
      b->extra.push_back(r.extra);
    }
    b->source = "dup.csv";
    out.push_back(std::move(b));
  }
  return out;
}

struct DupResult {
  uint64_t duplicates = 0;
  std::map<int64_t, std::vector<std::vector<int64_t>>> sessions;
  std::vector<float> feedback;  // All emitted feedback, in emission order.
  size_t requests = 0;
};

DupResult RunDuplicates(bool drop, int partitions, int threads) {
  std::optional<tbb::global_control> threads_limit;
  if (threads > 0) threads_limit.emplace(tbb::global_control::max_allowed_parallelism, threads);
  auto runner = StageRunner::Create(absl::StrCat(
      R"pb(name: "s" type: "Sessionize" input_stream: "r" output_stream: "s"
           options { [type.googleapis.com/resact.SessionizeOptions] { num_partitions: )pb",
      partitions, " drop_duplicate_rows: ", drop ? "true" : "false", " } }"));
  EXPECT_TRUE(runner.ok()) << runner.status();
  DupResult r;
  if (!runner.ok()) return r;
  for (const auto& b : DuplicateLog()) EXPECT_TRUE((*runner)->Feed(0, b).ok());
  EXPECT_TRUE((*runner)->Close().ok());
  r.duplicates = static_cast<Sessionize&>((*runner)->stage()).duplicate_rows();
  r.sessions = Collect(**runner);
  for (const auto& b : (*runner)->Outputs<SessionBatch>(0)) {
    r.feedback.insert(r.feedback.end(), b->feedback.begin(), b->feedback.end());
    r.requests += b->item.size();
  }
  return r;
}

TEST(Sessionize, ExactDuplicateRowsAreCountedAndKeptByDefault) {
  const DupResult r = RunDuplicates(/*drop=*/false, 4, 0);
  EXPECT_EQ(r.duplicates, 3u);
  EXPECT_EQ(r.requests, 12u);
  using V = std::vector<std::vector<int64_t>>;
  // Ties at (t 100, item 5) ordered by feedback: 1, 1, 1, 2.
  EXPECT_EQ(r.sessions.at(1), (V{{6, 5, 5, 5, 5}}));
  EXPECT_EQ(r.sessions.at(2), (V{{7, 7, 7, 7}}));
  EXPECT_EQ(r.sessions.at(3), (V{{1, 2, 1}}));
}

TEST(Sessionize, DropDuplicateRowsKeepsOneOfEach) {
  const DupResult r = RunDuplicates(/*drop=*/true, 4, 0);
  EXPECT_EQ(r.duplicates, 3u);
  EXPECT_EQ(r.requests, 9u);
  using V = std::vector<std::vector<int64_t>>;
  EXPECT_EQ(r.sessions.at(1), (V{{6, 5, 5}}));  // feedback 1 once, feedback 2 once
  EXPECT_EQ(r.sessions.at(2), (V{{7, 7, 7}}));  // extra 0 once, 0.25, 0.5
  EXPECT_EQ(r.sessions.at(3), (V{{1, 2, 1}}));
}

TEST(Sessionize, DuplicateCountsDoNotDependOnPartitionsOrThreads) {
  const DupResult ref = RunDuplicates(true, 1, 1);
  for (int partitions : {1, 2, 7, 64}) {
    for (int threads : {1, 2, 4}) {
      for (bool drop : {false, true}) {
        const DupResult r = RunDuplicates(drop, partitions, threads);
        EXPECT_EQ(r.duplicates, 3u) << partitions << " partitions, " << threads << " threads";
        EXPECT_EQ(r.requests, drop ? 9u : 12u);
        if (drop) EXPECT_EQ(r.sessions, ref.sessions);
      }
    }
  }
}

}  // namespace
}  // namespace resact
