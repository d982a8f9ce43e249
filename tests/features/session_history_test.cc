// The session-history builder (stages/features/session_history.h): its s_h
// against hand-computed values, the parameters in the replay's metadata, and
// serving's state (ReplayUserState, what `resact recommend` acts on) against
// the s_h the pipeline stored, bit for bit.
#include "stages/features/session_history.h"

#include <cmath>
#include <cstring>

#include "gtest/gtest.h"
#include "storage/replay.pb.h"
#include "storage/replay_batch_format.h"
#include "storage/replay_format.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"
#include "tests/replay/replay_test_util.h"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

TEST(SessionHistory, SessionStateFromHandComputedHistory) {
  FeatureLayout layout;
  layout.emb_dim = 2;
  layout.static_user_dim = 1;
  SessionStateParams params;
  params.user_ema_alpha = 0.3;
  SessionHistoryBuilder h(layout, params);
  const float profile[1] = {7.f};
  const float e1[2] = {1.f, 0.f}, e2[2] = {0.f, -1.f};
  std::vector<float> s(layout.session_dim());
  // Session 0 at 1970-01-01 00:00 UTC (a Thursday), items e1, e2.
  h.StartUser(profile);
  h.BeginSession(0, 99.f, s.data());  // No earlier session: the gap is unused.
  const double kTwoPi = 6.283185307179586;
  const std::vector<float> first = {0, 0, 0, 0, 0, 0, 0, 1, static_cast<float>(std::sin(kTwoPi * 3 / 7)),
                                    static_cast<float>(std::cos(kTwoPi * 3 / 7)), 7};
  EXPECT_EQ(s, first);
  h.AddItem(e1);
  h.AddItem(e2);
  h.EndSession(2);
  // Session 1 two hours after session 0 ended, 02:01 UTC; one item.
  h.BeginSession(7260000, 2.f, s.data());
  const float a = 0.3f;
  EXPECT_EQ(s[0], (1 - a) * (a * 1.f) + a * 0.f);
  EXPECT_EQ(s[1], a * -1.f);
  EXPECT_FLOAT_EQ(s[2], std::log1p(1.0));  // one earlier session
  EXPECT_FLOAT_EQ(s[3], std::log1p(2.0));  // mean return time 2 h
  EXPECT_FLOAT_EQ(s[4], 2.f);              // mean session length
  EXPECT_FLOAT_EQ(s[5], std::log1p(2.0));  // hours since the previous session
  EXPECT_FLOAT_EQ(s[6], std::sin(kTwoPi * (2 + 1 / 60.0) / 24));
  EXPECT_EQ(s[10], 7.f);
  h.AddItem(e1);
  h.EndSession(1);
  // Session 2 four hours later: the mean return time counts both gaps.
  h.BeginSession(7260000 + 4 * 3600000, 4.f, s.data());
  EXPECT_FLOAT_EQ(s[3], std::log1p(3.0));
  EXPECT_FLOAT_EQ(s[4], 1.5f);
  EXPECT_EQ(h.sessions(), 2);
  // A new user starts from nothing.
  h.StartUser(nullptr);
  h.BeginSession(0, 0.f, s.data());
  std::vector<float> blank = first;
  blank.back() = 0;
  EXPECT_EQ(s, blank);
}

// The recent-engagement features: bias-corrected EMAs, by hand.
TEST(SessionHistory, RecentEngagementFromHandComputedHistory) {
  FeatureLayout layout;
  layout.emb_dim = 1;
  layout.engagement_dim = FeatureLayout::kEngagementDim;
  layout.static_user_dim = 1;
  SessionStateParams params;
  params.engagement = true;
  params.engagement_session_alpha = 0.5;
  params.engagement_feedback_alpha = 0.25;
  SessionHistoryBuilder h(layout, params);
  ASSERT_EQ(layout.session_dim(), 1 + 8 + 3 + 1);
  const float profile[1] = {7.f}, e[1] = {0.5f};
  std::vector<float> s(layout.session_dim());
  h.StartUser(profile);
  h.BeginSession(0, 0.f, s.data());
  EXPECT_EQ(s[9], 0.f);
  EXPECT_EQ(s[10], 0.f);
  EXPECT_EQ(s[11], 0.f);
  EXPECT_EQ(s[12], 7.f);  // The profile stays last.
  const float f1 = 4, f2 = 2, f3 = 1;
  h.AddItem(e, &f1);
  h.AddItem(e, &f2);
  h.AddItem(e);  // No feedback: not counted.
  h.EndSession(3);
  h.BeginSession(3600000 * 10, 3.f, s.data());
  // One return (3 h) and one session (3 requests): the values themselves.
  EXPECT_FLOAT_EQ(s[9], std::log1p(3.0));
  EXPECT_FLOAT_EQ(s[10], std::log1p(3.0));
  // Feedback 4 then 2, α = 0.25: (0.75·0.25·4 + 0.25·2) / (0.75·0.25 + 0.25).
  EXPECT_FLOAT_EQ(s[11], (0.75 * 0.25 * 4 + 0.25 * 2) / (0.75 * 0.25 + 0.25));
  h.AddItem(e, &f3);
  h.EndSession(1);
  h.BeginSession(3600000 * 20, 8.f, s.data());
  // Returns 3 h then 8 h with α = 0.5: weights 0.25 and 0.5.
  EXPECT_FLOAT_EQ(s[9], (0.25 * std::log1p(3.0) + 0.5 * std::log1p(8.0)) / 0.75);
  EXPECT_FLOAT_EQ(s[10], (0.25 * std::log1p(3.0) + 0.5 * std::log1p(1.0)) / 0.75);
  EXPECT_FLOAT_EQ(s[11], (0.75 * 0.75 * 0.25 * 4 + 0.75 * 0.25 * 2 + 0.25 * 1) /
                             (0.75 * 0.75 * 0.25 + 0.75 * 0.25 + 0.25));
  EXPECT_EQ(s[12], 7.f);
  // The parameters round-trip through the replay's metadata.
  ReplayMeta meta;
  SetSessionStateParams(params, &meta);
  const SessionStateParams back = SessionStateParamsOf(meta, "r");
  EXPECT_TRUE(back.engagement);
  EXPECT_EQ(back.engagement_session_alpha, 0.5);
  EXPECT_EQ(back.engagement_feedback_alpha, 0.25);
  EXPECT_FALSE(SessionStateParamsOf(ReplayMeta(), "old").engagement);
}

// A builder that loads another's saved state, at any point (between
// sessions or within one), writes the same s_h, bit for bit, as the one
// that built the whole history.
TEST(SessionHistory, SavedStateGoesOnExactly) {
  FeatureLayout layout;
  layout.emb_dim = 3;
  layout.engagement_dim = FeatureLayout::kEngagementDim;
  layout.static_user_dim = 2;
  SessionStateParams params;
  params.user_ema_alpha = 0.2;
  params.engagement = true;
  params.engagement_session_alpha = 0.3;
  params.engagement_feedback_alpha = 0.1;
  const float profile[2] = {1.5f, -2.f};
  // 5 sessions of 1..5 requests; a request is one step.
  struct Step {
    int session, request;
  };
  std::vector<Step> steps;
  for (int k = 0; k < 5; ++k) {
    for (int r = 0; r <= k; ++r) steps.push_back({k, r});
  }
  auto run = [&](SessionHistoryBuilder& h, size_t from, size_t to, std::vector<float>* out) {
    std::vector<float> s_h(layout.session_dim());
    for (size_t i = from; i < to; ++i) {
      const Step st = steps[i];
      if (st.request == 0) {
        h.BeginSession(3600000LL * 10 * st.session, 1.25f * st.session, s_h.data());
        out->insert(out->end(), s_h.begin(), s_h.end());
      }
      const float e[3] = {0.1f * i, -0.3f + 0.05f * i, 0.7f};
      const float f = 0.5f * static_cast<float>(i % 3);
      h.AddItem(e, &f);
      if (st.request == st.session) h.EndSession(static_cast<uint64_t>(st.session + 1));
    }
  };
  SessionHistoryBuilder whole(layout, params);
  whole.StartUser(profile);
  std::vector<float> expect;
  run(whole, 0, steps.size(), &expect);
  for (size_t cut = 0; cut <= steps.size(); ++cut) {
    SessionHistoryBuilder first(layout, params), second(layout, params);
    first.StartUser(profile);
    std::vector<float> got;
    run(first, 0, cut, &got);
    ASSERT_TRUE(second.LoadState(first.SaveState()).ok()) << cut;
    EXPECT_EQ(second.sessions(), first.sessions());
    run(second, cut, steps.size(), &got);
    ASSERT_EQ(got.size(), expect.size()) << cut;
    EXPECT_EQ(std::memcmp(got.data(), expect.data(), got.size() * sizeof(float)), 0)
        << "cut after step " << cut;
  }
  // Another layout's state, or damaged bytes, are refused.
  FeatureLayout other = layout;
  other.emb_dim = 4;
  SessionHistoryBuilder wrong(other, params);
  EXPECT_FALSE(wrong.LoadState(whole.SaveState()).ok());
  const std::string state = whole.SaveState();
  SessionHistoryBuilder cut_short(layout, params);
  EXPECT_FALSE(cut_short.LoadState(state.substr(0, state.size() - 1)).ok());
  EXPECT_FALSE(cut_short.LoadState("").ok());
}

TEST(SessionHistory, ReturnHoursAsTheRewardStageComputesThem) {
  EXPECT_EQ(ReturnHoursBetween(60000, 7260000), 2.f);
  EXPECT_EQ(ReturnHoursBetween(0, 1), static_cast<float>(1 / 3.6e6));
}

TEST(SessionHistory, ParamsInTheReplayMetadata) {
  ReplayMeta meta;
  // A replay written before the field existed: the default.
  EXPECT_EQ(SessionStateParamsOf(meta, "old/replay").user_ema_alpha, 0.1);
  SessionStateParams p;
  p.user_ema_alpha = 0.3;
  SetSessionStateParams(p, &meta);
  EXPECT_EQ(SessionStateParamsOf(meta, "new/replay").user_ema_alpha, 0.3);
}

// The replay writer records the parameters the batches bring, and refuses
// batches whose s_h was built with other parameters than the earlier ones'.
TEST(SessionHistory, ReplayWriterRefusesBatchesOfAnotherEmaWeight) {
  testing_util::ScopedTempDir dir("session_history_writer");
  replay_test::SynthOptions o;
  o.users_per_batch = 3;
  auto items = replay_test::SynthItems(o);
  auto with_alpha = [&](int index, double alpha) {
    auto b = std::make_shared<ReplayBatch>(*replay_test::SynthBatch(o, index, *items));
    b->has_state_params = true;
    b->state_params.user_ema_alpha = alpha;
    return std::shared_ptr<const ReplayBatch>(b);
  };
  auto runner = StageRunner::Create(replay_test::WriterSpec("fp"), dir.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  ASSERT_TRUE((*runner)->Feed<ItemTable>(1, items).ok());
  ASSERT_TRUE((*runner)->Feed<ReplayBatch>(0, with_alpha(0, 0.3)).ok());
  ASSERT_TRUE((*runner)->Feed<ReplayBatch>(0, with_alpha(1, 0.3)).ok());
  const absl::Status s = (*runner)->Feed<ReplayBatch>(0, with_alpha(2, 0.5));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("user_ema_alpha 0.5, earlier batches with 0.3"), std::string::npos)
      << s;
}

// A small simulator pipeline (LONG_TERM, with static user features and the
// recent-engagement features) writes a replay with a non-default EMA weight
// and exact float32 s_h. For every stored
// session, serving's state for a session starting at that session's start
// has the stored s_h, bit for bit, and s_l at position 0.
TEST(SessionHistory, ServingBuildsThePipelinesStatesBitForBit) {
  testing_util::ScopedTempDir dir("session_history");
  const auto run = testing_util::RunShippedSpec(
      "recl_sim.pbtxt",
      {"simulate.sim.scale=0.002", "simulate.sim.days=4", "features.user_ema_alpha=0.3",
       "features.engagement_features=true", "simulate.sim.dynamics=LONG_TERM",
       "replay.session_state_float16=false"},
      dir.path());
  ASSERT_TRUE(run.ok()) << run.status();

  ReplayStoreOptions so;
  so.read_only = true;
  auto store = ReplayStore::Open(dir / "replay", so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto meta = (*store)->ReadMeta();
  ASSERT_TRUE(meta.ok()) << meta.status();
  ASSERT_EQ(meta->session_state_encoding(), ReplayMeta::FLOAT32);
  const SessionStateParams params = SessionStateParamsOf(*meta, dir / "replay");
  EXPECT_EQ(params.user_ema_alpha, 0.3);
  const FeatureLayout layout = ReplayLayoutOf(*meta);
  ASSERT_GT(layout.static_user_dim, 0);
  ASSERT_EQ(layout.engagement_dim, FeatureLayout::kEngagementDim);
  EXPECT_TRUE(params.engagement);
  auto items = ReadReplayItems(**store, layout.emb_dim);
  ASSERT_TRUE(items.ok()) << items.status();

  const size_t sd = layout.session_dim(), rd = layout.request_dim();
  std::vector<float> state(layout.state_dim());
  int64_t compared = 0, users = 0, differ_at_default = 0;
  auto cursor = (*store)->NewCursor(ReplayTable::kSessions);
  ReplaySessionRecord sr;
  SessionStateParams other;  // The default 0.1.
  for (cursor->SeekToFirst(); cursor->Valid() && users < 60; cursor->Next()) {
    ASSERT_TRUE(cursor->Get(&sr).ok());
    if (sr.session == 0) ++users;
    ASSERT_EQ(sr.s_h.size(), sd);
    ASSERT_TRUE(ReplayUserState(**store, *items, layout, params, sr.user, sr.start_ts_ms,
                                state.data())
                    .ok());
    ASSERT_EQ(std::memcmp(state.data(), sr.s_h.data(), sd * sizeof(float)), 0)
        << "user " << sr.user << " session " << sr.session;
    for (size_t k = 0; k < rd; ++k) ASSERT_EQ(state[sd + k], 0.f);
    ++compared;
    if (sr.session > 0) {
      ASSERT_TRUE(ReplayUserState(**store, *items, layout, other, sr.user, sr.start_ts_ms,
                                  state.data())
                      .ok());
      differ_at_default += std::memcmp(state.data(), sr.s_h.data(), sd * sizeof(float)) != 0;
    }
  }
  ASSERT_TRUE(cursor->status().ok());
  EXPECT_EQ(users, 60);
  EXPECT_GT(compared, 2 * users);
  // The test can tell the EMA weight apart.
  EXPECT_GT(differ_at_default, 0);
  // An unknown user is NotFound, as `resact recommend` reports it.
  EXPECT_TRUE(absl::IsNotFound(
      ReplayUserState(**store, *items, layout, params, -12345, 0, state.data())));
}

}  // namespace
}  // namespace resact
