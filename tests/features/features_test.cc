#include <cmath>

#include "gmock/gmock.h"
#include "storage/feature_layout.h"
#include "graph/stage_runner.h"
#include "gtest/gtest.h"
#include "stages/features/item_embedding.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

TEST(ItemEmbedding, RecoversBlockStructureInActionSpace) {
  // Users 0..39 consume items 0..9, users 40..79 items 10..19; item 99 is only
  // in the list of all items (a test-only item).
  std::vector<uint32_t> rows;
  std::vector<int64_t> items;
  std::vector<float> weights;
  for (uint32_t u = 0; u < 80; ++u) {
    for (int k = 0; k < 6; ++k) {
      rows.push_back(u);
      items.push_back((u < 40 ? 0 : 10) + (u * 7 + k * 3) % 10);
      weights.push_back(1);
    }
  }
  std::vector<int64_t> all = items;
  all.push_back(99);
  ItemEmbeddingOptions opts;
  opts.set_dim(4);
  ItemTable t = ComputeItemEmbeddings(all, rows, items, weights, 80, opts);
  ASSERT_EQ(t.size(), 21u);
  ASSERT_EQ(t.dim, 4);
  for (float x : t.embedding) {
    EXPECT_GE(x, -1.f);
    EXPECT_LE(x, 1.f);
  }
  auto cos = [&](int64_t a, int64_t b) {
    const float* x = t.row(t.Index(a));
    const float* y = t.row(t.Index(b));
    double xy = 0, xx = 0, yy = 0;
    for (int c = 0; c < 4; ++c) {
      xy += x[c] * y[c];
      xx += x[c] * x[c];
      yy += y[c] * y[c];
    }
    return xy / std::sqrt(xx * yy + 1e-12);
  };
  // Items of the same block point the same way; the blocks apart.
  double within = 0, across = 0;
  int nw = 0, na = 0;
  for (int64_t a = 0; a < 20; ++a) {
    for (int64_t b = a + 1; b < 20; ++b) {
      if ((a < 10) == (b < 10)) {
        within += cos(a, b), ++nw;
      } else {
        across += cos(a, b), ++na;
      }
    }
  }
  EXPECT_GT(within / nw, across / na + 0.5) << within / nw << " vs " << across / na;
  const float* unseen = t.row(t.Index(99));
  for (int c = 0; c < 4; ++c) EXPECT_EQ(unseen[c], 0.f);
  // Deterministic for a seed.
  ItemTable again = ComputeItemEmbeddings(all, rows, items, weights, 80, opts);
  EXPECT_EQ(again.embedding, t.embedding);
}

TEST(FeatureLayout, DimensionsAndFields) {
  FeatureLayout l;
  l.emb_dim = 16;
  EXPECT_EQ(l.session_dim(), 24);
  EXPECT_EQ(l.request_dim(), 35);
  EXPECT_EQ(l.state_dim(), 59);
  int total = 0;
  for (const auto& [name, width] : l.SessionFields()) total += width;
  EXPECT_EQ(total, l.session_dim());
  total = 0;
  for (const auto& [name, width] : l.RequestFields()) total += width;
  EXPECT_EQ(total, l.request_dim());
}

TEST(FeatureLayout, RequestFeatures) {
  FeatureLayout l;
  l.emb_dim = 2;
  const float prev[2] = {0.5f, -0.5f};
  const float sum[2] = {1.0f, 3.0f};
  float out[7];
  FillRequestFeatures(l, 2, 10.0, prev, sum, 0.25f, out);
  EXPECT_FLOAT_EQ(out[0], std::log1p(2.0));
  EXPECT_FLOAT_EQ(out[1], std::log1p(10.0));
  EXPECT_FLOAT_EQ(out[2], 0.5f);
  EXPECT_FLOAT_EQ(out[3], -0.5f);
  EXPECT_FLOAT_EQ(out[4], 0.5f);  // mean = sum / 2
  EXPECT_FLOAT_EQ(out[5], 1.5f);
  EXPECT_FLOAT_EQ(out[6], 0.25f);
  FillRequestFeatures(l, 0, 0.0, nullptr, nullptr, 0.9f, out);
  for (float x : out) EXPECT_EQ(x, 0.f);
}

// Rewarded sessions of one user: session 0 = items {10, 20} at t = 0 s and
// 60 s; session 1 = item {20} at t = 7260 s (2 h after session 0 ended),
// on 1970-01-01 (a Thursday) at 02:01 UTC.
std::shared_ptr<const SessionBatch> OneUser() {
  auto b = std::make_shared<SessionBatch>();
  b->user = {42};
  b->is_test = {0};
  b->user_offset = {0, 2};
  b->session_offset = {0, 2, 3};
  b->item = {10, 20, 20};
  b->ts_ms = {0, 60000, 7260000};
  b->return_hours = {2.0f, NAN};
  b->r_rt = {1, 0};
  b->r_sl = {1, 0};
  return b;
}

std::shared_ptr<const ItemTable> Items() {
  auto t = std::make_shared<ItemTable>();
  t->dim = 2;
  t->item_id = {10, 20};
  t->embedding = {1.0f, 0.0f, 0.0f, -1.0f};
  return t;
}

TEST(StateFeatures, SessionStateFromHistory) {
  testing_util::ScopedTempDir dir("features");
  auto runner = StageRunner::Create(R"pb(
    name: "features" type: "StateFeatures" input_stream: "s" input_stream: "i" output_stream: "o"
    options { [type.googleapis.com/resact.StateFeaturesOptions] { user_ema_alpha: 0.5 } })pb",
                                    dir.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  // Sessions before the item table: held until it arrives.
  ASSERT_TRUE((*runner)->Feed(0, OneUser()).ok());
  EXPECT_TRUE((*runner)->outputs(0).empty());
  ASSERT_TRUE((*runner)->Feed(1, Items()).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  auto out = (*runner)->Outputs<ReplayBatch>(0);
  ASSERT_EQ(out.size(), 1u);
  const ReplayBatch& rb = *out[0];
  EXPECT_EQ(rb.item_index, (std::vector<int32_t>{0, 1, 1}));
  // The builder's parameters go to the replay writer with the batch.
  EXPECT_TRUE(rb.has_state_params);
  EXPECT_EQ(rb.state_params.user_ema_alpha, 0.5);
  ASSERT_EQ(rb.session_state_dim, 10);
  const float* s0 = rb.session_state.data();
  const float* s1 = rb.session_state.data() + 10;
  // First session: no history; starts at 00:00 on a Thursday (dow 3).
  for (int k = 0; k < 6; ++k) EXPECT_EQ(s0[k], 0.f) << k;
  EXPECT_NEAR(s0[6], 0.f, 1e-6);  // sin(0)
  EXPECT_NEAR(s0[7], 1.f, 1e-6);  // cos(0)
  EXPECT_NEAR(s0[8], std::sin(2 * M_PI * 3 / 7), 1e-6);
  EXPECT_NEAR(s0[9], std::cos(2 * M_PI * 3 / 7), 1e-6);
  // Second session: EMA (α = 0.5) of e10 = (1, 0) then e20 = (0, −1):
  // (0.5, 0) then (0.25, −0.5).
  EXPECT_FLOAT_EQ(s1[0], 0.25f);
  EXPECT_FLOAT_EQ(s1[1], -0.5f);
  EXPECT_FLOAT_EQ(s1[2], std::log1p(1.0f));  // one earlier session
  EXPECT_FLOAT_EQ(s1[3], std::log1p(2.0f));  // mean return 2 h
  EXPECT_FLOAT_EQ(s1[4], 2.0f);              // mean length 2
  EXPECT_FLOAT_EQ(s1[5], std::log1p(2.0f));  // 2 h since previous
  const double hour = 7260.0 / 3600;
  EXPECT_NEAR(s1[6], std::sin(2 * M_PI * hour / 24), 1e-6);
  EXPECT_NEAR(s1[7], std::cos(2 * M_PI * hour / 24), 1e-6);
}

constexpr const char* kPlainSpec = R"pb(
  name: "features" type: "StateFeatures" input_stream: "s" input_stream: "i" output_stream: "o")pb";

TEST(StateFeatures, UnknownItemIsAnError) {
  testing_util::ScopedTempDir dir("features");
  auto runner = StageRunner::Create(kPlainSpec, dir.path());
  ASSERT_TRUE(runner.ok());
  auto t = std::make_shared<ItemTable>(*Items());
  t->item_id = {10, 30};
  ASSERT_TRUE((*runner)->Feed(1, std::shared_ptr<const ItemTable>(t)).ok());
  absl::Status s = (*runner)->Feed(0, OneUser());
  EXPECT_THAT(s.message(), ::testing::HasSubstr("item 20 is not in the item embedding table"));
  EXPECT_THAT(s.message(), ::testing::HasSubstr("stage 'features'"));
}

std::shared_ptr<const UserFeatureTable> Profiles(std::vector<int64_t> users) {
  auto t = std::make_shared<UserFeatureTable>();
  t->dim = 3;
  t->user_id = std::move(users);
  for (size_t i = 0; i < t->user_id.size(); ++i) {
    for (int k = 0; k < 3; ++k) t->values.push_back(static_cast<float>(t->user_id[i]) + 0.25f * k);
  }
  return t;
}

constexpr const char* kProfileSpec = R"pb(
  name: "features" type: "StateFeatures"
  input_stream: "s" input_stream: "i" input_stream: "u" output_stream: "o"
  options { [type.googleapis.com/resact.StateFeaturesOptions] { user_features: true } })pb";

TEST(StateFeatures, AppendsTheUsersProfileToEverySessionState) {
  testing_util::ScopedTempDir dir("features");
  auto runner = StageRunner::Create(kProfileSpec, dir.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  // Held until both tables are there.
  ASSERT_TRUE((*runner)->Feed(1, Items()).ok());
  ASSERT_TRUE((*runner)->Feed(0, OneUser()).ok());
  EXPECT_TRUE((*runner)->outputs(0).empty());
  ASSERT_TRUE((*runner)->Feed(2, Profiles({7, 42, 50})).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  auto out = (*runner)->Outputs<ReplayBatch>(0);
  ASSERT_EQ(out.size(), 1u);
  const ReplayBatch& rb = *out[0];
  ASSERT_EQ(rb.session_state_dim, 2 + 8 + 3);
  for (int s = 0; s < 2; ++s) {
    const float* p = rb.session_state.data() + s * 13 + 10;
    EXPECT_FLOAT_EQ(p[0], 42.f);
    EXPECT_FLOAT_EQ(p[1], 42.25f);
    EXPECT_FLOAT_EQ(p[2], 42.5f);
  }
  // The history part is unchanged by the profile: EMA of the second session.
  EXPECT_FLOAT_EQ(rb.session_state[13 + 0], 0.1f * 0.9f);
}

TEST(StateFeatures, UserWithoutAProfileIsAnError) {
  testing_util::ScopedTempDir dir("features");
  auto runner = StageRunner::Create(kProfileSpec, dir.path());
  ASSERT_TRUE(runner.ok());
  ASSERT_TRUE((*runner)->Feed(1, Items()).ok());
  ASSERT_TRUE((*runner)->Feed(2, Profiles({7, 50})).ok());
  absl::Status s = (*runner)->Feed(0, OneUser());
  EXPECT_THAT(s.message(), ::testing::HasSubstr("user 42 has no row in the user feature table"));
}

TEST(StateFeatures, AMissingTableIsReportedAtClose) {
  // A spec, whether the item table comes, and the message at Close().
  const struct {
    const char* spec;
    bool items;
    const char* message;
  } cases[] = {
      {kPlainSpec, false, "no item embedding table"},
      {kProfileSpec, true, "no user feature table"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    testing_util::ScopedTempDir dir("features");
    auto runner = StageRunner::Create(c.spec, dir.path());
    ASSERT_TRUE(runner.ok());
    if (c.items) ASSERT_TRUE((*runner)->Feed(1, Items()).ok());
    ASSERT_TRUE((*runner)->Feed(0, OneUser()).ok());
    EXPECT_THAT((*runner)->Close().message(), ::testing::HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace resact
