// The state layout: the one place in code that fixes the order and width of
// every state feature (method.md section 1). The replay writer stores it in
// the replay metadata; readers and learners take it from there.
//
// s_h (session level, fixed within a session, from history before it):
//   user_embedding[d]        EMA of item embeddings consumed in earlier sessions
//   log1p_prev_sessions      log1p(number of earlier sessions)
//   log1p_mean_return_hours  log1p(mean return time so far, hours)
//   mean_session_length      mean session length so far (requests)
//   log1p_hours_since_prev   log1p(hours since the previous session ended)
//   sin_hour, cos_hour       session start hour-of-day (UTC)
//   sin_dow, cos_dow         session start day-of-week (UTC)
//   recent_log1p_return_hours  } optional recent engagement (engagement_dim = 3,
//   recent_log1p_session_length } StateFeaturesOptions.engagement_features):
//   recent_feedback            } bias-corrected EMAs of log1p(return hours) and
//                                log1p(session length) over earlier sessions
//                                and of the raw feedback over earlier requests
//   static_user[k]           optional static user features (k = 0 by default)
// s_l (request level):
//   log1p_position           log1p(0-based position in the session)
//   log1p_minutes            log1p(minutes since the session started)
//   prev_item[d]             previous item's embedding in the session (0 at start)
//   session_mean_item[d]     mean embedding of the session's items so far (0 at start)
//   prev_feedback            previous request's feedback, standardized (0 at start)
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace resact {

struct FeatureLayout {
  int emb_dim = 16;
  int engagement_dim = 0;  // 0, or kEngagementDim.
  int static_user_dim = 0;

  static constexpr int kEngagementDim = 3;
  int session_dim() const { return emb_dim + 8 + engagement_dim + static_user_dim; }
  int request_dim() const { return 2 * emb_dim + 3; }
  int state_dim() const { return session_dim() + request_dim(); }
  int action_dim() const { return emb_dim; }

  // (name, width) of each field, in order.
  std::vector<std::pair<std::string, int>> SessionFields() const;
  std::vector<std::pair<std::string, int>> RequestFields() const;
};

// Session history before a session starts, in the units s_h uses.
struct SessionHistory {
  const float* user_embedding = nullptr;  // emb_dim floats (EMA), may be null (zeros).
  int64_t prev_sessions = 0;
  double mean_return_hours = 0;
  double mean_session_length = 0;
  double hours_since_prev = 0;
  int64_t start_ts_ms = 0;
  const float* engagement = nullptr;   // engagement_dim floats, may be null (zeros).
  const float* static_user = nullptr;  // static_user_dim floats, may be null.
};

// Writes session_dim() floats of s_h to `out`.
void FillSessionFeatures(const FeatureLayout& layout, const SessionHistory& h, float* out);

// Writes request_dim() floats of s_l to `out`. `prev_item` and
// `session_item_sum` may be null at position 0; `session_item_sum` is the sum
// of the embeddings of the `position` items before this request.
void FillRequestFeatures(const FeatureLayout& layout, int64_t position, double minutes_since_start,
                         const float* prev_item, const float* session_item_sum,
                         float prev_feedback_std, float* out);

}  // namespace resact
