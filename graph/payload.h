// Payload types that travel between stages. Every packet carries one
// columnar batch of thousands of rows; per-packet overhead is a few pointers.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

namespace resact {

// The payload kinds a stream may carry. The graph checks that a producer's
// output kind equals each consumer's input kind before anything runs.
enum class PayloadType {
  kRequests,          // RequestBatch: raw log rows, any order.
  kSessions,          // SessionBatch: whole users, sessions in time order.
  kRewardedSessions,  // SessionBatch with reward columns filled.
  kItemEmbeddings,    // ItemTable: the action-space item embeddings.
  kReplayBatch,       // ReplayBatch: rewarded sessions plus state features.
  kReplay,            // ReplayHandle: a finished replay store, ready to read.
  kPolicy,            // PolicySnapshot (graph/policy.h): learner → evaluators.
  kMetrics,           // MetricsBatch: named scalar results.
  kUserFeatures,      // UserFeatureTable: static per-user profile features.
};

absl::string_view PayloadTypeName(PayloadType t);

// Rows of a request log, in file order. Columns that a log does not have are
// left empty; the others have one entry per row.
struct RequestBatch {
  std::vector<int64_t> user;
  std::vector<int64_t> item;
  std::vector<int64_t> ts_ms;            // Unix time in milliseconds.
  std::vector<float> feedback;           // Optional, e.g. a rating.
  std::vector<int64_t> session_id;       // Optional, a log-provided session id.
  std::vector<float> behaviour_logprob;  // Optional, log π_β(a|s) of the row.
  int num_extra = 0;                     // Extra numeric features per row.
  std::vector<float> extra;              // Row-major [rows × num_extra].
  std::string source;                    // Where the rows came from (file).

  size_t size() const { return user.size(); }
  void reserve(size_t n);
};

// Sessions of whole users. Users appear once per batch (all their sessions are
// in the same batch), sessions of a user are in time order, requests of a
// session are in time order. Request columns are indexed by request,
// session columns by session.
struct RewardStats;

struct SessionBatch {
  // Per user: id and range [user_offset[u], user_offset[u+1]) of sessions.
  std::vector<int64_t> user;
  std::vector<uint8_t> is_test;       // 1 when the user is in the test split.
  std::vector<uint32_t> user_offset;  // size users+1
  // Per session: range [session_offset[s], session_offset[s+1]) of requests.
  std::vector<uint64_t> session_offset;  // size sessions+1
  // Per request.
  std::vector<int64_t> item;
  std::vector<int64_t> ts_ms;
  std::vector<float> feedback;           // Empty when the log has none.
  std::vector<float> behaviour_logprob;  // Empty when the log has none.
  int num_extra = 0;
  std::vector<float> extra;  // Row-major [requests × num_extra].
  double gap_seconds = 0;    // Session gap the batch was segmented with.

  // Filled by the reward stage (kRewardedSessions); per session.
  std::vector<float> return_hours;  // δ to the next session; NaN for the last.
  std::vector<uint8_t> r_rt;        // Return-time reward 0..5.
  std::vector<uint8_t> r_sl;        // Session-length reward 0..5.
  std::shared_ptr<const RewardStats> reward_stats;  // Log-wide statistics.

  size_t num_users() const { return user.size(); }
  size_t num_sessions() const {
    return session_offset.empty() ? 0 : session_offset.size() - 1;
  }
  size_t num_requests() const { return item.size(); }
  size_t session_length(size_t s) const {
    return session_offset[s + 1] - session_offset[s];
  }
};

// Log-wide statistics behind the rewards, computed over the whole ingested log.
struct RewardStats {
  double gap_seconds = 0;           // Session gap used by segmentation.
  double return_p75_hours = 0;      // δ_75%: 75th percentile of all return times.
  double feedback_mean = 0;         // Over all requests with feedback.
  double feedback_std = 1;
  uint64_t users = 0, sessions = 0, requests = 0;
};

// Item embeddings in action space: row i is item `item_id[i]`, `dim` floats,
// each in [-1, 1]. Lookup from the log's item id to the row goes through
// `Index()`.
struct ItemTable {
  int dim = 0;
  std::vector<int64_t> item_id;  // Sorted ascending.
  std::vector<float> embedding;  // Row-major [items × dim].
  // Row of `id`, or -1 when the item is not in the table.
  int64_t Index(int64_t id) const;
  size_t size() const { return item_id.size(); }
  const float* row(size_t i) const { return embedding.data() + i * dim; }
};

// Static per-user profile features (e.g. a platform's user embedding), which
// StateFeatures appends to s_h as `static_user` (storage/feature_layout.h):
// row i is user `user_id[i]`, `dim` floats.
struct UserFeatureTable {
  int dim = 0;
  std::vector<int64_t> user_id;  // Sorted ascending, unique.
  std::vector<float> values;     // Row-major [users × dim].
  // The row of `id`, or null when the user has none.
  const float* Find(int64_t id) const;
  size_t size() const { return user_id.size(); }
};

// Parameters of the session-history builder that made a ReplayBatch's s_h
// (stages/features/session_history.h). The replay writer stores them in the
// replay's metadata (ReplayMeta.session_state); serving and the simulator's
// evaluation read them back from there, so they never disagree with training.
struct SessionStateParams {
  double user_ema_alpha = 0.1;  // Weight of each consumed item in the user-embedding EMA.
  // The recent-engagement features of s_h (FeatureLayout::engagement_dim):
  // off, or on with these EMA weights per session and per request.
  bool engagement = false;
  double engagement_session_alpha = 0.3;
  double engagement_feedback_alpha = 0.05;
};

// Rewarded sessions with the state features the replay stores: the
// session-level state s_h per session and the item table row per request.
// Request-level features s_l are derived from the request columns when a
// batch is sampled (see storage/feature_layout.h).
struct ReplayBatch {
  std::shared_ptr<const SessionBatch> sessions;
  std::vector<int32_t> item_index;     // Per request: row in the item table.
  int session_state_dim = 0;
  std::vector<float> session_state;    // Row-major [sessions × session_state_dim].
  // The parameters session_state was built with; false/unset in batches made
  // by hand (the replay then has no ReplayMeta.session_state).
  bool has_state_params = false;
  SessionStateParams state_params;
};

// A finished replay store on disk.
struct ReplayHandle {
  std::string dir;
};

// Named scalar results of one evaluation of one policy snapshot.
struct MetricsBatch {
  std::string evaluator;  // e.g. "ncis", "simulator"
  std::string algo;       // Evaluated policy, e.g. "resact", or "behaviour".
  std::string task;
  int64_t seed = 0;
  int64_t step = 0;
  bool final = false;     // From the learner's last snapshot.
  std::vector<std::string> name;
  std::vector<double> value;
  void Add(std::string n, double v) {
    name.push_back(std::move(n));
    value.push_back(v);
  }
  // The value of metric `n`; NaN when the batch has none.
  double Get(const std::string& n) const {
    for (size_t i = 0; i < name.size(); ++i) {
      if (name[i] == n) return value[i];
    }
    return std::nan("");
  }
};

}  // namespace resact
