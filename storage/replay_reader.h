// The in-memory replay used by learners and evaluators. Load() reads the
// compact records of one split of a COMPLETE replay store into contiguous
// arrays (structure of arrays), under a memory budget checked against an
// estimate from the meta before anything is read. Sample() draws uniform
// random transitions and assembles dense float arrays: no torch here, the
// learners wrap the buffers.
//
// Memory per transition (d = emb_dim): item row i32, session index u32,
// ms since session start u32, flags u8 = 13 bytes; + 4 with feedback, + 4
// with behaviour log-probs; + 4d/K for the session prefix sums (K =
// prefix_sum_stride, default 16: 4 bytes at d = 16). Per session: s_h as
// float32 (4 × session_dim) + 36 bytes. Per user 20 bytes; per item 8 + 4d.
//
// State assembly (storage/feature_layout.h): state = s_h ++ s_l with s_l from
// FillRequestFeatures(position, minutes since the session's first request,
// the previous item's embedding in the session, the sum of the embeddings of
// the session's earlier items, the previous request's feedback standardized
// with the meta's feedback mean/std). The sum is a stored checkpoint (every K
// requests of a session) plus at most K-1 added rows, accumulated in float in
// request order, so it equals a plain loop from the session start exactly.
//
// A loaded reader is immutable: its const methods may be called from several
// threads at once (each with its own rng and ReplaySample).
//
// Example:
//   ReplayReaderOptions o;
//   o.split = ReplaySplit::kTrain;
//   ASSIGN_OR_RETURN(auto replay, ReplayReader::Load(workdir + "/replay", o));
//   std::mt19937_64 rng(1);
//   ReplaySample batch;
//   replay->Sample(256, rng, /*w_rt=*/1, /*w_sl=*/0, &batch);
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/feature_layout.h"
#include "graph/payload.h"
#include "storage/replay.pb.h"

namespace resact {

class ReplayStore;

enum class ReplaySplit { kTrain, kTest, kAll };
// "train", "test", "all".
const char* ReplaySplitName(ReplaySplit split);

struct ReplayReaderOptions {
  // Which users to load. Default: the train split.
  ReplaySplit split = ReplaySplit::kTrain;
  // Most bytes the loaded replay may take; Load fails with the estimate before
  // reading anything when it would be larger. Default 8 GiB.
  uint64_t memory_budget_bytes = uint64_t{8} << 30;
  // A prefix sum of item embeddings is kept every K requests of a session
  // (4·emb_dim/K bytes per transition); session_mean_item then adds at most
  // K-1 rows. 0: no checkpoints, sum by looping from the session start.
  // Default 16.
  int prefix_sum_stride = 16;
  // Load a store whose meta is WRITING (unfinished or crashed), e.g. to
  // inspect it. Default false: such a store is an error.
  bool allow_incomplete = false;
  // Only the sessions that start at or after this time (Unix ms): a window
  // of the newest days (daily retraining). Users with no such session are
  // left out; the rewards are those of the whole store (a daily store
  // derives them from every session of the user). Default: every session.
  int64_t min_session_start_ms = std::numeric_limits<int64_t>::min();
};

// OK when `meta` (read from the store in `dir`) is COMPLETE; otherwise
// FailedPrecondition "replay DIR is incomplete (state WRITING: a run that
// wrote it did not finish); re-run the pipeline that writes it". Every
// command or stage that opens a replay for reading checks this.
absl::Status CheckReplayComplete(const ReplayMeta& meta, const std::string& dir);

// One assembled batch of transitions; row-major dense arrays of `size` rows.
struct ReplaySample {
  int size = 0;
  int state_dim = 0;
  int action_dim = 0;
  std::vector<float> state;              // [size × state_dim], s = s_h ++ s_l.
  std::vector<float> next_state;         // [size × state_dim]; zeros past the user's end.
  std::vector<float> action;             // [size × action_dim], served item's embedding.
  std::vector<float> reward;             // w_rt·r_rt + w_sl·r_sl (0 unless session end).
  std::vector<float> r_rt, r_sl;         // Per-task rewards on this transition.
  std::vector<float> done;               // 1 at the user's last request.
  std::vector<float> behaviour_logprob;  // Empty when the replay has none.
  std::vector<uint64_t> transition;      // Transition index in the reader.
  std::vector<uint32_t> user;            // User index in the reader.
};

// The replay's item table, rows 0..n-1 in key order (the order of
// ReplayTransitionRecord::item_index); DataLoss when a row is out of order or
// of another dimension than `emb_dim`. `expected_items` only reserves room.
absl::StatusOr<ItemTable> ReadReplayItems(const ReplayStore& store, int emb_dim,
                                          uint64_t expected_items = 0);

class ReplayReader {
 public:
  struct Range {
    uint64_t begin = 0, end = 0;
    uint64_t size() const { return end - begin; }
  };

  static absl::StatusOr<std::unique_ptr<ReplayReader>> Load(
      const std::string& dir, const ReplayReaderOptions& options = {});
  // Bytes Load() would take for `meta` and `options` (an upper bound).
  static uint64_t EstimateMemory(const ReplayMeta& meta, const ReplayReaderOptions& options);

  const ReplayMeta& meta() const { return meta_; }
  const FeatureLayout& layout() const { return layout_; }
  int state_dim() const { return layout_.state_dim(); }
  int session_dim() const { return layout_.session_dim(); }
  int action_dim() const { return layout_.action_dim(); }
  bool has_behaviour_logprob() const { return !logprob_.empty(); }
  bool has_feedback() const { return !feedback_.empty(); }
  const ItemTable& items() const { return items_; }
  // Bytes held by the loaded arrays.
  uint64_t memory_bytes() const;

  uint64_t num_transitions() const { return item_index_.size(); }
  size_t num_sessions() const { return session_user_.size(); }
  size_t num_users() const { return user_id_.size(); }

  // Uniform random transitions (with replacement), assembled into `out`.
  // Buffers are reused between calls. An empty replay gives 0 rows.
  void Sample(int batch_size, std::mt19937_64& rng, float w_rt, float w_sl,
              ReplaySample* out) const;
  // Assembles the given transitions, in order.
  void Assemble(const uint64_t* transitions, int n, float w_rt, float w_sl,
                ReplaySample* out) const;
  // Writes the state_dim() floats of transition t's state.
  void FillState(uint64_t t, float* out) const;

  // ---- Trajectories: users in store (user-hash) order. ----
  int64_t user_id(size_t u) const { return user_id_[u]; }
  bool user_is_test(size_t u) const { return user_test_[u] != 0; }
  Range user_sessions(size_t u) const { return {user_session_[u], user_session_[u + 1]}; }
  // The user's transitions in time order: a trajectory.
  Range user_transitions(size_t u) const {
    return {session_first_[user_session_[u]], session_first_[user_session_[u + 1]]};
  }

  // ---- Per session. ----
  const float* session_state(size_t s) const { return s_h_.data() + s * layout_.session_dim(); }
  Range session_transitions(size_t s) const { return {session_first_[s], session_first_[s + 1]}; }
  uint32_t session_user(size_t s) const { return session_user_[s]; }
  int64_t session_start_ms(size_t s) const { return session_start_[s]; }
  float session_return_hours(size_t s) const { return session_return_[s]; }
  uint8_t session_r_rt(size_t s) const { return session_r_[2 * s]; }
  uint8_t session_r_sl(size_t s) const { return session_r_[2 * s + 1]; }

  // ---- Per transition. ----
  uint32_t session_of(uint64_t t) const { return session_[t]; }
  uint32_t user_of(uint64_t t) const { return session_user_[session_[t]]; }
  uint64_t position(uint64_t t) const { return t - session_first_[session_[t]]; }
  int64_t ts_ms(uint64_t t) const { return session_start_[session_[t]] + dt_ms_[t]; }
  int32_t item_index(uint64_t t) const { return item_index_[t]; }
  // The served item's embedding (zeros when it is not in the item table).
  const float* action(uint64_t t) const { return ItemRow(item_index_[t]); }
  bool done(uint64_t t) const { return (flags_[t] & kDoneFlag) != 0; }
  bool last_in_session(uint64_t t) const { return (flags_[t] & kLastFlag) != 0; }
  // Whether t has a next state (the user's next request).
  bool has_next(uint64_t t) const {
    return t + 1 < num_transitions() && user_of(t + 1) == user_of(t);
  }
  uint8_t r_rt(uint64_t t) const { return last_in_session(t) ? session_r_rt(session_[t]) : 0; }
  uint8_t r_sl(uint64_t t) const { return last_in_session(t) ? session_r_sl(session_[t]) : 0; }
  float reward(uint64_t t, float w_rt, float w_sl) const { return w_rt * r_rt(t) + w_sl * r_sl(t); }
  // NaN when the request had none (or the replay has no feedback column).
  float feedback(uint64_t t) const;
  // NaN when absent.
  float behaviour_logprob(uint64_t t) const;

  // Benchmarks only: ignore the prefix-sum checkpoints (sum by looping).
  void set_use_prefix_sums(bool use) { use_prefix_sums_ = use; }

 private:
  static constexpr uint8_t kDoneFlag = 1, kLastFlag = 2;
  ReplayReader() = default;
  // Load(), one table at a time. The meta: present, COMPLETE (unless
  // allow_incomplete), format version 1, a layout that matches
  // storage/feature_layout.h, and the split within the memory budget.
  static absl::StatusOr<ReplayMeta> LoadMeta(const ReplayStore& store,
                                             const ReplayReaderOptions& options);
  // The item table, rows in order.
  absl::Status LoadItems(const ReplayStore& store);
  // The split's users, with each one's session count.
  absl::Status LoadUsers(const ReplayStore& store, std::vector<uint32_t>* user_sessions);
  // Reserves the per-session and per-transition arrays for the meta's counts.
  void ReserveTrajectories();
  // The users' sessions and their transitions (both tables in one pass), and
  // the prefix-sum checkpoints.
  absl::Status LoadTrajectories(const ReplayStore& store,
                                const std::vector<uint32_t>& user_sessions);
  const float* ItemRow(int32_t index) const {
    return index >= 0 ? items_.row(static_cast<size_t>(index)) : zeros_.data();
  }
  // Sum of the embeddings of the `p` items before position p of session s,
  // whose first transition is `first`; writes emb_dim floats.
  void SessionItemSum(uint32_t s, uint64_t first, uint64_t p, float* sum) const;

  ReplayMeta meta_;
  FeatureLayout layout_;
  ReplayReaderOptions options_;
  ItemTable items_;
  std::vector<float> zeros_;  // emb_dim zeros for unknown items.
  float feedback_mean_ = 0, feedback_inv_std_ = 1;
  bool use_prefix_sums_ = true;

  // Per transition.
  std::vector<int32_t> item_index_;
  std::vector<uint32_t> session_;
  std::vector<uint32_t> dt_ms_;  // Clamped to 2^32-1 (49 days).
  std::vector<uint8_t> flags_;
  std::vector<float> feedback_;  // Empty when no request has feedback; NaN = none.
  std::vector<float> logprob_;   // Empty when no request has one; NaN = none.
  // Per session.
  std::vector<uint64_t> session_first_;  // size sessions+1
  std::vector<uint32_t> session_user_;
  std::vector<int64_t> session_start_;
  std::vector<float> session_return_;
  std::vector<uint8_t> session_r_;     // r_rt, r_sl interleaved.
  std::vector<float> s_h_;             // [sessions × session_dim]
  std::vector<uint64_t> ckpt_offset_;  // Per session: first checkpoint row.
  std::vector<float> ckpt_;            // [checkpoints × emb_dim]
  // Per user.
  std::vector<int64_t> user_id_;
  std::vector<uint8_t> user_test_;
  std::vector<uint64_t> user_session_;  // size users+1
};

// Loads the whole replay in `dir` and times `iters` Sample() calls of `batch`
// rows (with and without the prefix-sum checkpoints). Returns one JSON line:
// {"transitions":…, "us_per_batch":…, "us_per_batch_loop_sum":…, …}.
absl::StatusOr<std::string> BenchSample(const std::string& dir, int batch, int iters);

}  // namespace resact
