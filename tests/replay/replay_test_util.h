// Test data for the replay store, writer and reader: a tiny hand-built batch
// whose every feature can be computed by hand, a deterministic synthetic
// generator (batch k is always the same) for crash, idempotence and size
// tests, and the stores the tests write from them. Temporary folders come
// from tests/util/test_util.h (testing_util::ScopedTempDir).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/hash.h"
#include "graph/payload.h"
#include "graph/stage_runner.h"
#include "graph/status.h"
#include "storage/feature_layout.h"
#include "storage/replay.pb.h"
#include "storage/replay_store.h"
#include "tests/util/test_util.h"

namespace resact {
namespace replay_test {

// The shared temporary folder, under the name the learner and evaluator
// tests still use.
using TempDir = testing_util::ScopedTempDir;

// The ReplayWriter spec used by the tests.
inline std::string WriterSpec(const std::string& fingerprint, bool float16 = true,
                              bool overwrite = false, const std::string& dir = "replay") {
  return absl::StrCat(
      "name: \"replay\" type: \"ReplayWriter\" input_stream: \"batches\" "
      "input_stream: \"items\" options { [type.googleapis.com/resact.ReplayWriterOptions] { "
      "dir: \"",
      dir, "\" source_fingerprint: \"", fingerprint,
      "\" session_state_float16: ", float16 ? "true" : "false",
      " overwrite: ", overwrite ? "true" : "false", " } }");
}

// ---- The hand-built replay ----
//
// Items (dim 3): 10, 20, 30, 40, 50.
// User 7 (train): session 0 at T0: items 10, 30, 20 at +0, +60 s, +150 s,
//   feedback 4, 3, 5, logprob -1, -2, -3; return 9.958333 h; r_rt 3, r_sl 2.
//   session 1 at T0 + 10 h: items 40, 50 at +0, +30 s, feedback 2, 1,
//   logprob -4, -5; no return; r_rt 0, r_sl 1.
// User -5 (test): session 0 at T1: items 20, 99 (not in the table) at +0,
//   +120 s, feedback 3, 4, logprob -0.5, -0.25; no return; r_rt 0, r_sl 4.
// s_h[k] of a user's session j is HandState(user, j, k), k = 0..10.
// Feedback mean 3, std 1.25.
constexpr int64_t kT0 = 1600000000000;
constexpr int64_t kT1 = 1600100000000;
constexpr int kHandDim = 3;

inline float HandState(int64_t user, int session, int k) {
  return 0.01f * (session + 1) * (k + 1) + (user == 7 ? 0.f : 0.5f);
}

inline std::shared_ptr<const ItemTable> HandItems() {
  auto t = std::make_shared<ItemTable>();
  t->dim = kHandDim;
  t->item_id = {10, 20, 30, 40, 50};
  t->embedding = {0.1f, 0.2f, 0.3f, -0.5f, 0.25f, 1.0f, 0.75f, -0.125f,
                  -1.f, 0.f,  0.5f, -0.5f, 1.f,   -1.f, 0.f};
  return t;
}

inline std::shared_ptr<const RewardStats> MakeRewardStats(double gap_seconds,
                                                          double return_p75_hours,
                                                          double feedback_mean,
                                                          double feedback_std) {
  auto rs = std::make_shared<RewardStats>();
  rs->gap_seconds = gap_seconds;
  rs->return_p75_hours = return_p75_hours;
  rs->feedback_mean = feedback_mean;
  rs->feedback_std = feedback_std;
  return rs;
}

inline std::shared_ptr<const RewardStats> HandRewardStats() {
  return MakeRewardStats(/*gap_seconds=*/1800, /*return_p75_hours=*/24, /*feedback_mean=*/3,
                         /*feedback_std=*/1.25);
}

inline std::shared_ptr<const ReplayBatch> HandBatch() {
  struct U {
    int64_t id;
    uint8_t test;
    std::vector<std::vector<int64_t>> items, ts;
    std::vector<std::vector<float>> fb, lp;
    std::vector<float> ret;
    std::vector<uint8_t> rt, sl;
  };
  const double ret0 = (36000000.0 - 150000.0) / 3600000.0;
  std::vector<U> users = {
      {7,
       0,
       {{10, 30, 20}, {40, 50}},
       {{kT0, kT0 + 60000, kT0 + 150000}, {kT0 + 36000000, kT0 + 36030000}},
       {{4, 3, 5}, {2, 1}},
       {{-1, -2, -3}, {-4, -5}},
       {static_cast<float>(ret0), std::nanf("")},
       {3, 0},
       {2, 1}},
      {-5,
       1,
       {{20, 99}},
       {{kT1, kT1 + 120000}},
       {{3, 4}},
       {{-0.5f, -0.25f}},
       {std::nanf("")},
       {0},
       {4}},
  };
  std::sort(users.begin(), users.end(),
            [](const U& a, const U& b) { return UserHash32(a.id) < UserHash32(b.id); });
  auto items = HandItems();
  auto sb = std::make_shared<SessionBatch>();
  auto rb = std::make_shared<ReplayBatch>();
  sb->user_offset.push_back(0);
  sb->session_offset.push_back(0);
  sb->reward_stats = HandRewardStats();
  for (const U& u : users) {
    sb->user.push_back(u.id);
    sb->is_test.push_back(u.test);
    for (size_t j = 0; j < u.items.size(); ++j) {
      for (size_t r = 0; r < u.items[j].size(); ++r) {
        sb->item.push_back(u.items[j][r]);
        sb->ts_ms.push_back(u.ts[j][r]);
        sb->feedback.push_back(u.fb[j][r]);
        sb->behaviour_logprob.push_back(u.lp[j][r]);
        rb->item_index.push_back(static_cast<int32_t>(items->Index(u.items[j][r])));
      }
      sb->session_offset.push_back(sb->item.size());
      sb->return_hours.push_back(u.ret[j]);
      sb->r_rt.push_back(u.rt[j]);
      sb->r_sl.push_back(u.sl[j]);
      for (int k = 0; k < kHandDim + 8; ++k) {
        rb->session_state.push_back(HandState(u.id, static_cast<int>(j), k));
      }
    }
    sb->user_offset.push_back(sb->session_offset.size() - 1);
  }
  rb->session_state_dim = kHandDim + 8;
  rb->sessions = sb;
  return rb;
}

// ---- The synthetic generator ----

struct SynthOptions {
  uint64_t seed = 1;
  int users_per_batch = 20;
  double mean_sessions = 5;        // Per user (1 + geometric).
  double mean_session_length = 8;  // Requests (1 + geometric).
  int num_items = 2000;
  int emb_dim = 16;
  bool feedback = true;
  bool logprob = false;
  double test_fraction = 0.2;
};

inline std::shared_ptr<const ItemTable> SynthItems(const SynthOptions& o) {
  auto t = std::make_shared<ItemTable>();
  t->dim = o.emb_dim;
  std::mt19937_64 rng(o.seed * 7919 + 17);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int i = 0; i < o.num_items; ++i) {
    t->item_id.push_back(100 + 7 * i);
    for (int k = 0; k < o.emb_dim; ++k) t->embedding.push_back(u(rng));
  }
  return t;
}

inline std::shared_ptr<const RewardStats> SynthRewardStats() {
  return MakeRewardStats(/*gap_seconds=*/1800, /*return_p75_hours=*/72, /*feedback_mean=*/3.5,
                         /*feedback_std=*/1.0);
}

// Batch `index` holds users index·users_per_batch … +users_per_batch-1 (ids
// scrambled), emitted in user-hash order like the pipeline. Deterministic.
inline std::shared_ptr<const ReplayBatch> SynthBatch(const SynthOptions& o, int index,
                                                     const ItemTable& items) {
  static const auto stats = SynthRewardStats();
  const FeatureLayout layout{o.emb_dim, 0};
  std::vector<int64_t> ids;
  for (int i = 0; i < o.users_per_batch; ++i) {
    const uint64_t n = static_cast<uint64_t>(index) * o.users_per_batch + i;
    ids.push_back(static_cast<int64_t>(Mix64(n ^ (o.seed << 40)) >> 20));
  }
  std::sort(ids.begin(), ids.end(),
            [](int64_t a, int64_t b) { return UserHash32(a) < UserHash32(b); });
  auto sb = std::make_shared<SessionBatch>();
  auto rb = std::make_shared<ReplayBatch>();
  sb->reward_stats = stats;
  sb->user_offset.push_back(0);
  sb->session_offset.push_back(0);
  rb->session_state_dim = layout.session_dim();
  std::vector<float> ema(o.emb_dim);
  for (int64_t id : ids) {
    std::mt19937_64 rng(Mix64(static_cast<uint64_t>(id) ^ o.seed));
    std::geometric_distribution<int> nsess(1.0 / o.mean_sessions);
    std::geometric_distribution<int> nreq(1.0 / o.mean_session_length);
    std::exponential_distribution<double> gap_h(1.0 / 48);
    std::uniform_real_distribution<double> unif(0, 1);
    const int S = 1 + nsess(rng);
    std::vector<int> len(S);
    for (int& l : len) l = 1 + nreq(rng);
    sb->user.push_back(id);
    sb->is_test.push_back(IsTestUser(id, o.test_fraction, o.seed) ? 1 : 0);
    int64_t ts = 1500000000000 + static_cast<int64_t>(unif(rng) * 3e10);
    std::vector<int64_t> start(S), end(S);
    std::vector<std::vector<int>> rows(S);
    for (int j = 0; j < S; ++j) {
      start[j] = ts;
      for (int r = 0; r < len[j]; ++r) {
        if (r > 0) ts += 10000 + static_cast<int64_t>(unif(rng) * 290000);
        const int row = static_cast<int>(std::pow(unif(rng), 3) * o.num_items);
        rows[j].push_back(row);
        sb->item.push_back(items.item_id[row]);
        sb->ts_ms.push_back(ts);
        rb->item_index.push_back(row);
        if (o.feedback) sb->feedback.push_back(0.5f * (1 + static_cast<int>(unif(rng) * 10)));
        if (o.logprob) sb->behaviour_logprob.push_back(static_cast<float>(-7 * unif(rng)));
      }
      end[j] = ts;
      ts += static_cast<int64_t>((0.6 + gap_h(rng)) * 3600000);
      sb->session_offset.push_back(sb->item.size());
    }
    // Rewards (method.md section 1) with δ_75% = 72 h.
    double ret_sum = 0;
    for (int j = 0; j + 1 < S; ++j) ret_sum += (start[j + 1] - end[j]) / 3.6e6;
    const double ret_avg = S > 1 ? ret_sum / (S - 1) : 0;
    double len_avg = 0;
    for (int l : len) len_avg += l;
    len_avg /= S;
    std::fill(ema.begin(), ema.end(), 0.f);
    double len_sum = 0, rsum = 0;
    for (int j = 0; j < S; ++j) {
      const bool has_next = j + 1 < S;
      const double ret = has_next ? (start[j + 1] - end[j]) / 3.6e6 : NAN;
      sb->return_hours.push_back(static_cast<float>(ret));
      sb->r_rt.push_back(has_next ? static_cast<uint8_t>(std::clamp(
                                        std::floor(std::min(ret_avg, 72.0) / ret), 0.0, 5.0))
                                  : 0);
      sb->r_sl.push_back(
          static_cast<uint8_t>(std::clamp(std::floor(len[j] / (0.8 * len_avg)), 0.0, 5.0)));
      SessionHistory h;
      h.user_embedding = ema.data();
      h.prev_sessions = j;
      h.mean_return_hours = j > 0 ? rsum / j : 0;
      h.mean_session_length = j > 0 ? len_sum / j : 0;
      h.hours_since_prev = j > 0 ? (start[j] - end[j - 1]) / 3.6e6 : 0;
      h.start_ts_ms = start[j];
      const size_t at = rb->session_state.size();
      rb->session_state.resize(at + layout.session_dim());
      FillSessionFeatures(layout, h, rb->session_state.data() + at);
      for (int row : rows[j]) {
        for (int k = 0; k < o.emb_dim; ++k) ema[k] = 0.9f * ema[k] + 0.1f * items.row(row)[k];
      }
      len_sum += len[j];
      if (has_next) rsum += ret;
    }
    sb->user_offset.push_back(sb->session_offset.size() - 1);
  }
  rb->sessions = sb;
  return rb;
}

// ---- Stores written from them ----

// Writes synthetic batches 0 .. batches-1 (with the items of `o`) through a
// ReplayWriter (WriterSpec(fingerprint)) into WORKDIR/replay. `after_batch`,
// when given, runs after batch k was written, before the next one.
inline absl::Status WriteSynthReplay(const std::string& workdir, const SynthOptions& o,
                                     int batches, const std::string& fingerprint,
                                     const std::function<absl::Status(int)>& after_batch = {}) {
  auto items = SynthItems(o);
  ASSIGN_OR_RETURN(auto runner, StageRunner::Create(WriterSpec(fingerprint), workdir));
  RETURN_IF_ERROR(runner->Feed<ItemTable>(1, items));
  for (int k = 0; k < batches; ++k) {
    RETURN_IF_ERROR(runner->Feed<ReplayBatch>(0, SynthBatch(o, k, *items)));
    if (after_batch) RETURN_IF_ERROR(after_batch(k));
  }
  return runner->Close();
}

// Creates a replay store in `dir` holding only a WRITING meta (format 1): the
// store of a writer that never finished.
inline absl::Status WriteUnfinishedStore(const std::string& dir) {
  ReplayStoreOptions o;
  o.create = true;
  ASSIGN_OR_RETURN(std::unique_ptr<ReplayStore> store, ReplayStore::Open(dir, o));
  ReplayMeta meta;
  meta.set_state(ReplayMeta::WRITING);
  meta.set_format_version(1);
  RETURN_IF_ERROR(store->WriteMeta(meta, /*sync=*/true));
  return store->Close();
}

}  // namespace replay_test
}  // namespace resact
