// ReplayWriter → store → ReplayReader on a hand-built replay whose every
// number is known: keys, rewards on the last request only, done flags,
// next-state links across sessions, assembled states equal to features
// computed by hand; idempotence, fingerprint protection, memory budget, and
// the stats report.
#include "stages/replay/replay_writer.h"

#include <cmath>
#include <filesystem>
#include <random>

#include "gtest/gtest.h"
#include "storage/replay_reader.h"
#include "storage/replay_stats.h"
#include "storage/replay_store.h"
#include "tests/replay/replay_test_util.h"

namespace resact {
namespace {

using replay_test::HandBatch;
using replay_test::HandItems;
using replay_test::HandState;
using replay_test::kT0;
using replay_test::SynthBatch;
using replay_test::SynthItems;
using replay_test::SynthOptions;
using replay_test::WriterSpec;
using testing_util::ScopedTempDir;

// Runs the writer over `batches` (each fed `repeat` times) and the items.
absl::Status WriteReplay(const std::string& workdir, const std::string& spec,
                         const std::vector<std::shared_ptr<const ReplayBatch>>& batches,
                         std::shared_ptr<const ItemTable> items, int repeat = 1) {
  ASSIGN_OR_RETURN(auto runner, StageRunner::Create(spec, workdir));
  RETURN_IF_ERROR(runner->Feed<ItemTable>(1, items));
  for (int k = 0; k < repeat; ++k) {
    for (const auto& b : batches) RETURN_IF_ERROR(runner->Feed<ReplayBatch>(0, b));
  }
  RETURN_IF_ERROR(runner->Close());
  if (runner->progress().rows() == 0 && !batches.empty()) {
    return absl::InternalError("writer reported no progress");
  }
  // The optional output: one handle to the finished store.
  const auto handles = runner->Outputs<ReplayHandle>(0);
  if (handles.size() != 1 || handles[0]->dir != workdir + "/replay") {
    return absl::InternalError("writer did not emit one ReplayHandle for the store");
  }
  return absl::OkStatus();
}

size_t FindUser(const ReplayReader& r, int64_t id) {
  for (size_t u = 0; u < r.num_users(); ++u) {
    if (r.user_id(u) == id) return u;
  }
  ADD_FAILURE() << "user " << id << " not loaded";
  return 0;
}

// The state of a hand-built request, computed from the formulas of
// storage/feature_layout.h without calling it.
std::vector<float> HandStateVector(int64_t user, int session, int position, double minutes,
                                   std::vector<std::vector<float>> earlier_items,
                                   float prev_feedback) {
  std::vector<float> s;
  for (int k = 0; k < 11; ++k) s.push_back(HandState(user, session, k));
  s.push_back(std::log1p(static_cast<float>(position)));
  s.push_back(static_cast<float>(std::log1p(minutes)));
  const int d = 3;
  for (int k = 0; k < d; ++k) s.push_back(position > 0 ? earlier_items.back()[k] : 0.f);
  for (int k = 0; k < d; ++k) {
    float sum = 0;
    for (const auto& e : earlier_items) sum += e[k];
    s.push_back(position > 0 ? sum / position : 0.f);
  }
  s.push_back(position > 0 ? (prev_feedback - 3.f) / 1.25f : 0.f);
  return s;
}

void ExpectNear(const float* got, const std::vector<float>& want, const char* what) {
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_NEAR(got[k], want[k], 1e-6) << what << " [" << k << "]";
  }
}

TEST(ReplayWriter, HandBuiltRoundTrip) {
  ScopedTempDir tmp("replay_rt");
  ASSERT_TRUE(
      WriteReplay(tmp.path(), WriterSpec("fp1", /*float16=*/false), {HandBatch()}, HandItems())
          .ok());
  const std::string dir = tmp / "replay";

  // The meta.
  {
    auto store = ReplayStore::Open(dir, false);
    ASSERT_TRUE(store.ok()) << store.status();
    auto m = (*store)->ReadMeta();
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->state(), ReplayMeta::COMPLETE);
    EXPECT_EQ(m->source_fingerprint(), "fp1");
    EXPECT_EQ(m->session_state_encoding(), ReplayMeta::FLOAT32);
    EXPECT_EQ(m->layout().emb_dim(), 3);
    EXPECT_EQ(m->layout().session_dim(), 11);
    EXPECT_EQ(m->layout().request_dim(), 9);
    EXPECT_EQ(m->layout().state_dim(), 20);
    ASSERT_EQ(m->layout().session_field_size(), 9);
    EXPECT_EQ(m->layout().session_field(0).name(), "user_embedding");
    EXPECT_EQ(m->layout().request_field(3).name(), "session_mean_item");
    EXPECT_EQ(m->users(), 2u);
    EXPECT_EQ(m->train_users(), 1u);
    EXPECT_EQ(m->test_users(), 1u);
    EXPECT_EQ(m->sessions(), 3u);
    EXPECT_EQ(m->train_sessions(), 2u);
    EXPECT_EQ(m->transitions(), 7u);
    EXPECT_EQ(m->train_transitions(), 5u);
    EXPECT_EQ(m->test_transitions(), 2u);
    EXPECT_EQ(m->items(), 5u);
    ASSERT_EQ(m->test_user_size(), 1);
    EXPECT_EQ(m->test_user(0), -5);
    EXPECT_TRUE(m->has_feedback());
    EXPECT_TRUE(m->has_behaviour_logprob());
    EXPECT_EQ(m->reward().feedback_mean(), 3);
    EXPECT_EQ(m->reward().feedback_std(), 1.25);
    EXPECT_EQ(m->reward().return_p75_hours(), 24);
    // Sessions: (r_rt, r_sl) = (3, 2), (0, 1), (0, 4).
    EXPECT_EQ(std::vector<uint64_t>(m->reward().r_rt_hist().begin(), m->reward().r_rt_hist().end()),
              (std::vector<uint64_t>{2, 0, 0, 1, 0, 0}));
    EXPECT_EQ(std::vector<uint64_t>(m->reward().r_sl_hist().begin(), m->reward().r_sl_hist().end()),
              (std::vector<uint64_t>{0, 1, 1, 0, 1, 0}));
    EXPECT_EQ(m->reward().r_joint_hist(6 * 3 + 2), 1u);
    EXPECT_EQ(m->reward().r_joint_hist(6 * 0 + 4), 1u);
  }

  ReplayReaderOptions o;
  o.split = ReplaySplit::kAll;
  o.prefix_sum_stride = 2;
  auto reader_or = ReplayReader::Load(dir, o);
  ASSERT_TRUE(reader_or.ok()) << reader_or.status();
  const ReplayReader& r = **reader_or;
  ASSERT_EQ(r.num_transitions(), 7u);
  ASSERT_EQ(r.num_sessions(), 3u);
  ASSERT_EQ(r.num_users(), 2u);
  EXPECT_EQ(r.state_dim(), 20);
  // Users in hash order.
  EXPECT_LT(UserHash32(r.user_id(0)), UserHash32(r.user_id(1)));

  const size_t a = FindUser(r, 7), b = FindUser(r, -5);
  const ReplayReader::Range ta = r.user_transitions(a), tb = r.user_transitions(b);
  ASSERT_EQ(ta.size(), 5u);
  ASSERT_EQ(tb.size(), 2u);
  EXPECT_EQ(r.user_sessions(a).size(), 2u);
  EXPECT_FALSE(r.user_is_test(a));
  EXPECT_TRUE(r.user_is_test(b));
  EXPECT_EQ(r.ts_ms(ta.begin + 2), kT0 + 150000);
  EXPECT_EQ(r.ts_ms(ta.begin + 4), kT0 + 36030000);
  EXPECT_EQ(r.item_index(ta.begin + 1), 2);  // Item 30.
  EXPECT_EQ(r.feedback(ta.begin + 1), 3.f);
  EXPECT_EQ(r.behaviour_logprob(tb.begin + 1), -0.25f);

  // Rewards on the last request of each session only; done at the user's end.
  const std::vector<int> want_rt = {0, 0, 3, 0, 0}, want_sl = {0, 0, 2, 0, 1};
  const std::vector<bool> want_done = {false, false, false, false, true};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(r.r_rt(ta.begin + i), want_rt[i]) << i;
    EXPECT_EQ(r.r_sl(ta.begin + i), want_sl[i]) << i;
    EXPECT_EQ(r.done(ta.begin + i), want_done[i]) << i;
    EXPECT_EQ(r.has_next(ta.begin + i), i < 4) << i;
  }
  EXPECT_EQ(r.r_sl(tb.begin), 0);
  EXPECT_EQ(r.r_sl(tb.begin + 1), 4);
  EXPECT_TRUE(r.done(tb.begin + 1));
  EXPECT_FALSE(r.has_next(tb.begin + 1));

  // Assemble every transition of user 7 and user -5.
  std::vector<uint64_t> all;
  for (uint64_t t = ta.begin; t < ta.end; ++t) all.push_back(t);
  for (uint64_t t = tb.begin; t < tb.end; ++t) all.push_back(t);
  ReplaySample s;
  r.Assemble(all.data(), static_cast<int>(all.size()), 0.5f, 0.5f, &s);
  ASSERT_EQ(s.size, 7);
  ASSERT_EQ(s.state_dim, 20);
  ASSERT_EQ(s.action_dim, 3);
  const std::vector<float> e10 = {0.1f, 0.2f, 0.3f}, e20 = {-0.5f, 0.25f, 1.f},
                           e30 = {0.75f, -0.125f, -1.f}, e40 = {0.f, 0.5f, -0.5f},
                           e50 = {1.f, -1.f, 0.f}, zero = {0.f, 0.f, 0.f};
  const std::vector<std::vector<float>> states = {
      HandStateVector(7, 0, 0, 0, {}, 0),           HandStateVector(7, 0, 1, 1.0, {e10}, 4),
      HandStateVector(7, 0, 2, 2.5, {e10, e30}, 3), HandStateVector(7, 1, 0, 0, {}, 0),
      HandStateVector(7, 1, 1, 0.5, {e40}, 2),      HandStateVector(-5, 0, 0, 0, {}, 0),
      HandStateVector(-5, 0, 1, 2.0, {e20}, 3),
  };
  const std::vector<std::vector<float>> actions = {e10, e30, e20, e40, e50, e20, zero};
  for (int i = 0; i < 7; ++i) {
    SCOPED_TRACE(i);
    ExpectNear(s.state.data() + i * 20, states[i], "state");
    ExpectNear(s.action.data() + i * 3, actions[i], "action");
    // Next state: the user's next request, across the session boundary.
    if (i == 4 || i == 6) {
      ExpectNear(s.next_state.data() + i * 20, std::vector<float>(20, 0.f), "next_state");
    } else {
      ExpectNear(s.next_state.data() + i * 20, states[i + 1], "next_state");
    }
  }
  // Spot-check a few hand values directly: prev feedback (4-3)/1.25 = 0.8,
  // session mean of items 10 and 30.
  EXPECT_NEAR(s.state[1 * 20 + 19], 0.8f, 1e-6);
  EXPECT_NEAR(s.state[2 * 20 + 11 + 5], 0.425f, 1e-6);
  EXPECT_NEAR(s.state[2 * 20 + 11 + 1], std::log1p(2.5f), 1e-6);
  // Session 0's last request links to session 1's first: s_h of session 1.
  EXPECT_NEAR(s.next_state[2 * 20 + 0], HandState(7, 1, 0), 1e-7);

  const std::vector<float> want_reward = {0, 0, 2.5f, 0, 0.5f, 0, 2.f};
  const std::vector<float> want_done_f = {0, 0, 0, 0, 1, 0, 1};
  const std::vector<float> want_lp = {-1, -2, -3, -4, -5, -0.5f, -0.25f};
  for (int i = 0; i < 7; ++i) {
    EXPECT_FLOAT_EQ(s.reward[i], want_reward[i]) << i;
    EXPECT_FLOAT_EQ(s.done[i], want_done_f[i]) << i;
    EXPECT_FLOAT_EQ(s.behaviour_logprob[i], want_lp[i]) << i;
    EXPECT_EQ(s.user[i], i < 5 ? a : b) << i;
  }
  EXPECT_FLOAT_EQ(s.r_rt[2], 3.f);
  EXPECT_FLOAT_EQ(s.r_sl[2], 2.f);
  EXPECT_FLOAT_EQ(s.r_sl[6], 4.f);

  // Random sampling returns assembled copies of real transitions.
  std::mt19937_64 rng(3);
  ReplaySample rs;
  r.Sample(64, rng, 1.f, 0.f, &rs);
  ASSERT_EQ(rs.size, 64);
  std::vector<float> state(20);
  for (int i = 0; i < 64; ++i) {
    ASSERT_LT(rs.transition[i], 7u);
    r.FillState(rs.transition[i], state.data());
    for (int k = 0; k < 20; ++k) ASSERT_EQ(rs.state[i * 20 + k], state[k]);
    EXPECT_EQ(rs.reward[i], static_cast<float>(r.r_rt(rs.transition[i])));
  }

  // Splits.
  o.split = ReplaySplit::kTrain;
  auto train = ReplayReader::Load(dir, o);
  ASSERT_TRUE(train.ok());
  EXPECT_EQ((*train)->num_users(), 1u);
  EXPECT_EQ((*train)->user_id(0), 7);
  EXPECT_EQ((*train)->num_transitions(), 5u);
  o.split = ReplaySplit::kTest;
  auto test = ReplayReader::Load(dir, o);
  ASSERT_TRUE(test.ok());
  EXPECT_EQ((*test)->user_id(0), -5);
  EXPECT_EQ((*test)->num_transitions(), 2u);
  EXPECT_FALSE((*test)->has_next(1));
}

TEST(ReplayWriter, Float16StateIsCloseAndHalfTheSize) {
  ScopedTempDir tmp("replay_f16");
  ASSERT_TRUE(
      WriteReplay(tmp.path(), WriterSpec("fp", /*float16=*/true), {HandBatch()}, HandItems()).ok());
  auto r = ReplayReader::Load(tmp / "replay", {ReplaySplit::kAll});
  ASSERT_TRUE(r.ok()) << r.status();
  const size_t a = FindUser(**r, 7);
  const float* sh = (*r)->session_state((*r)->user_sessions(a).begin + 1);
  for (int k = 0; k < 11; ++k) {
    EXPECT_EQ(sh[k], HalfToFloat(FloatToHalf(HandState(7, 1, k))));
    EXPECT_NEAR(sh[k], HandState(7, 1, k), 1e-3);
  }
  auto store = ReplayStore::Open(tmp / "replay", false);
  ASSERT_TRUE(store.ok());
  auto m = (*store)->ReadMeta();
  EXPECT_EQ(m->session_state_encoding(), ReplayMeta::FLOAT16);
}

TEST(ReplayReader, PrefixSumCheckpointsEqualTheLoop) {
  ScopedTempDir tmp("replay_ckpt");
  SynthOptions so;
  so.mean_session_length = 40;  // Long sessions: many checkpoints.
  so.users_per_batch = 10;
  auto items = SynthItems(so);
  ASSERT_TRUE(WriteReplay(tmp.path(), WriterSpec("s"),
                          {SynthBatch(so, 0, *items), SynthBatch(so, 1, *items)}, items)
                  .ok());
  ReplayReaderOptions o;
  o.split = ReplaySplit::kAll;
  o.prefix_sum_stride = 4;
  auto with = ReplayReader::Load(tmp / "replay", o);
  o.prefix_sum_stride = 0;
  auto without = ReplayReader::Load(tmp / "replay", o);
  ASSERT_TRUE(with.ok() && without.ok());
  ASSERT_EQ((*with)->num_transitions(), (*without)->num_transitions());
  const int S = (*with)->state_dim();
  std::vector<float> x(S), y(S);
  uint64_t long_positions = 0;
  for (uint64_t t = 0; t < (*with)->num_transitions(); ++t) {
    (*with)->FillState(t, x.data());
    (*without)->FillState(t, y.data());
    ASSERT_EQ(x, y) << "transition " << t;  // Bitwise: same float additions in order.
    long_positions += (*with)->position(t) >= 8;
  }
  EXPECT_GT(long_positions, 100u);
  // The checkpoint memory is about 4·d/K bytes per transition.
  EXPECT_GT((*with)->memory_bytes(), (*without)->memory_bytes());
}

TEST(ReplayWriter, IdempotentRewrites) {
  SynthOptions so;
  auto items = SynthItems(so);
  std::vector<std::shared_ptr<const ReplayBatch>> batches;
  for (int k = 0; k < 3; ++k) batches.push_back(SynthBatch(so, k, *items));

  auto summary = [](const std::string& dir) -> std::pair<uint64_t, uint64_t> {
    auto store = ReplayStore::Open(dir, false);
    EXPECT_TRUE(store.ok()) << store.status();
    auto m = (*store)->ReadMeta();
    auto c = (*store)->ContentChecksum();
    auto n = (*store)->CountRecords(ReplayTable::kTransitions);
    EXPECT_TRUE(m.ok() && c.ok() && n.ok());
    EXPECT_EQ(m->transitions(), *n);
    EXPECT_EQ(m->state(), ReplayMeta::COMPLETE);
    return {m->transitions(), *c};
  };
  ScopedTempDir once("replay_once"), twice("replay_twice");
  ASSERT_TRUE(WriteReplay(once.path(), WriterSpec("same"), batches, items).ok());
  // Every batch fed twice in one run.
  ASSERT_TRUE(WriteReplay(twice.path(), WriterSpec("same"), batches, items, /*repeat=*/2).ok());
  const auto a = summary(once / "replay");
  const auto b = summary(twice / "replay");
  EXPECT_GT(a.first, 0u);
  EXPECT_EQ(a, b);
  // A second run over a COMPLETE store of the same source rewrites in place.
  ASSERT_TRUE(WriteReplay(once.path(), WriterSpec("same"), batches, items).ok());
  EXPECT_EQ(summary(once / "replay"), a);
}

TEST(ReplayWriter, RewriteInPlaceEqualsAFreshWrite) {
  // Runs without a fingerprint count as the same source: the second run
  // rewrites the store in place. Its data differ (users of batch 0 are gone,
  // the others have other sessions), yet nothing stale may remain.
  SynthOptions first, second;
  second.mean_sessions = 2;
  second.mean_session_length = 3;
  auto items = SynthItems(first);
  ScopedTempDir inplace("replay_inplace"), fresh("replay_fresh");
  ASSERT_TRUE(WriteReplay(inplace.path(), WriterSpec(""),
                          {SynthBatch(first, 0, *items), SynthBatch(first, 1, *items),
                           SynthBatch(first, 2, *items)},
                          items)
                  .ok());
  const std::vector<std::shared_ptr<const ReplayBatch>> batches2 = {
      SynthBatch(second, 1, *items), SynthBatch(second, 2, *items), SynthBatch(second, 3, *items)};
  ASSERT_TRUE(WriteReplay(inplace.path(), WriterSpec(""), batches2, items).ok());
  ASSERT_TRUE(WriteReplay(fresh.path(), WriterSpec(""), batches2, items).ok());
  auto a = ReplayStore::Open(inplace / "replay", false);
  auto b = ReplayStore::Open(fresh / "replay", false);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*(*a)->ContentChecksum(), *(*b)->ContentChecksum());
  EXPECT_EQ((*a)->ReadMeta()->SerializeAsString(), (*b)->ReadMeta()->SerializeAsString());
  EXPECT_EQ(*(*a)->CountRecords(ReplayTable::kSessions), (*b)->ReadMeta()->sessions());
  EXPECT_EQ(*(*a)->CountRecords(ReplayTable::kUsers), 60u);
}

TEST(ReplayWriter, RefusesToClobberAnotherSource) {
  ScopedTempDir tmp("replay_fp");
  auto items = HandItems();
  ASSERT_TRUE(WriteReplay(tmp.path(), WriterSpec("source-a"), {HandBatch()}, items).ok());
  // Different fingerprint, no overwrite: a readable error naming the option.
  auto r = StageRunner::Create(WriterSpec("source-b"), tmp.path());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("--set replay.overwrite=true"), std::string::npos)
      << r.status();
  EXPECT_NE(r.status().message().find("source-a"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find(tmp / "replay"), std::string::npos) << r.status();
  // No fingerprint at all differs from "source-a": also refused.
  r = StageRunner::Create(WriterSpec(""), tmp.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("overwrite=true"), std::string::npos) << r.status();
  // The store is untouched.
  {
    auto store = ReplayStore::Open(tmp / "replay", false);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->ReadMeta()->source_fingerprint(), "source-a");
    EXPECT_EQ((*store)->ReadMeta()->state(), ReplayMeta::COMPLETE);
  }
  // With overwrite the old replay is replaced entirely (no stale users).
  SynthOptions so;
  so.emb_dim = 3;
  so.num_items = 5;
  auto synth_items = SynthItems(so);
  ASSERT_TRUE(WriteReplay(tmp.path(), WriterSpec("source-b", true, /*overwrite=*/true),
                          {SynthBatch(so, 0, *synth_items)}, synth_items)
                  .ok());
  auto store = ReplayStore::Open(tmp / "replay", false);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->ReadMeta()->source_fingerprint(), "source-b");
  EXPECT_TRUE(absl::IsNotFound((*store)->GetUser(7).status()));
  EXPECT_EQ(*(*store)->CountRecords(ReplayTable::kUsers), 20u);
}

TEST(ReplayWriter, MissingItemTableIsAnError) {
  ScopedTempDir tmp("replay_noitems");
  auto runner = StageRunner::Create(WriterSpec("x"), tmp.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  ASSERT_TRUE((*runner)->Feed<ReplayBatch>(0, HandBatch()).ok());
  absl::Status s = (*runner)->Close();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("item"), std::string::npos);
  runner->reset();
  // Nothing is written: no replay, and the failed run's staging store is gone.
  auto r = ReplayReader::Load(tmp / "replay");
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_FALSE(std::filesystem::exists(tmp / "replay.staging"));
}

TEST(ReplayReader, MemoryBudget) {
  ScopedTempDir tmp("replay_budget");
  ASSERT_TRUE(WriteReplay(tmp.path(), WriterSpec("b"), {HandBatch()}, HandItems()).ok());
  ReplayReaderOptions o;
  o.split = ReplaySplit::kAll;
  o.memory_budget_bytes = 200;
  auto r = ReplayReader::Load(tmp / "replay", o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("estimated"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("7 transitions"), std::string::npos) << r.status();
  // The estimate is an upper bound of what loading takes.
  o.memory_budget_bytes = uint64_t{1} << 30;
  r = ReplayReader::Load(tmp / "replay", o);
  ASSERT_TRUE(r.ok());
  EXPECT_LE((*r)->memory_bytes(), ReplayReader::EstimateMemory((*r)->meta(), o));
}

TEST(ReplayReader, EmptySplitSamplesNothing) {
  ScopedTempDir tmp("replay_empty");
  SynthOptions so;
  so.test_fraction = 0;  // Every user trains.
  auto items = SynthItems(so);
  ASSERT_TRUE(WriteReplay(tmp.path(), WriterSpec("e"), {SynthBatch(so, 0, *items)}, items).ok());
  ReplayReaderOptions o;
  o.split = ReplaySplit::kTest;
  auto r = ReplayReader::Load(tmp / "replay", o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->num_transitions(), 0u);
  EXPECT_EQ((*r)->num_users(), 0u);
  std::mt19937_64 rng(1);
  ReplaySample s;
  (*r)->Sample(256, rng, 1, 0, &s);
  EXPECT_EQ(s.size, 0);
  EXPECT_TRUE(s.state.empty());
}

TEST(ReplayStats, HandBuiltNumbers) {
  ScopedTempDir tmp("replay_stats");
  ASSERT_TRUE(WriteReplay(tmp.path(), WriterSpec("st"), {HandBatch()}, HandItems()).ok());
  auto st = ComputeReplayStats(tmp / "replay");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->users, 2u);
  EXPECT_EQ(st->train_users, 1u);
  EXPECT_EQ(st->test_users, 1u);
  EXPECT_EQ(st->sessions, 3u);
  EXPECT_EQ(st->requests, 7u);
  EXPECT_EQ(st->items, 5u);
  // Session lengths 3, 2, 2.
  EXPECT_NEAR(st->session_length.mean, 7.0 / 3, 1e-9);
  EXPECT_EQ(st->session_length.q25, 2);
  EXPECT_EQ(st->session_length.q50, 2);
  EXPECT_EQ(st->session_length.q75, 2.5);
  // Sessions per user 2, 1.
  EXPECT_EQ(st->sessions_per_user.mean, 1.5);
  EXPECT_EQ(st->sessions_per_user.q25, 1.25);
  EXPECT_EQ(st->sessions_per_user.q75, 1.75);
  // One return of 9.958333 h.
  EXPECT_EQ(st->return_hours.n, 1u);
  EXPECT_NEAR(st->return_hours.q50, 9.958333, 1e-5);
  // (r_rt, r_sl) = (3, 2), (0, 1), (0, 4): both = 2.5, 0.5, 2.
  EXPECT_EQ(st->r_rt_hist[0], 2u);
  EXPECT_EQ(st->r_rt_hist[3], 1u);
  EXPECT_EQ(st->r_sl_hist[1], 1u);
  EXPECT_EQ(st->r_sl_hist[2], 1u);
  EXPECT_EQ(st->r_sl_hist[4], 1u);
  EXPECT_EQ(st->both_hist[5], 1u);  // 2.5
  EXPECT_EQ(st->both_hist[1], 1u);  // 0.5
  EXPECT_EQ(st->both_hist[4], 1u);  // 2.0
  EXPECT_GT(st->sizes.directory_bytes, 0u);
  EXPECT_GT(st->disk_bytes_per_transition, 0);

  auto text = ReplayStatsReport(tmp / "replay");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("COMPLETE"), std::string::npos) << *text;
  EXPECT_NE(text->find("2.33       2.00       2.00       2.00       2.50       3.00"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("2.5:1(33.3%)"), std::string::npos) << *text;
  EXPECT_NE(text->find("bytes per transition"), std::string::npos) << *text;
  std::cout << *text;
}

}  // namespace
}  // namespace resact
