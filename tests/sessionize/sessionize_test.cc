#include "gmock/gmock.h"
#include "graph/hash.h"
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

TEST(Sessionize, LogSessionIdsDelimitSessions) {
  auto runner = StageRunner::Create(R"pb(
    name: "s" type: "Sessionize" input_stream: "r" output_stream: "s"
    options { [type.googleapis.com/resact.SessionizeOptions] { source: LOG_SESSION_ID } }
  )pb");
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
  auto runner = StageRunner::Create(R"pb(
    name: "s" type: "Sessionize" input_stream: "r" output_stream: "s"
    options { [type.googleapis.com/resact.SessionizeOptions] { source: LOG_SESSION_ID } }
  )pb");
  ASSERT_TRUE(runner.ok());
  absl::Status s = (*runner)->Feed(0, Batch({{1, 1, 0, 1}}));
  EXPECT_THAT(s.message(), ::testing::HasSubstr("LOG_SESSION_ID needs a session column"));
}

}  // namespace
}  // namespace resact
