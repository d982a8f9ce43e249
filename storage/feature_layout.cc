#include "storage/feature_layout.h"

#include <cmath>

namespace resact {

std::vector<std::pair<std::string, int>> FeatureLayout::SessionFields() const {
  std::vector<std::pair<std::string, int>> f = {
      {"user_embedding", emb_dim},   {"log1p_prev_sessions", 1},
      {"log1p_mean_return_hours", 1}, {"mean_session_length", 1},
      {"log1p_hours_since_prev", 1},  {"sin_hour", 1},
      {"cos_hour", 1},                {"sin_dow", 1},
      {"cos_dow", 1}};
  if (engagement_dim > 0) {
    f.emplace_back("recent_log1p_return_hours", 1);
    f.emplace_back("recent_log1p_session_length", 1);
    f.emplace_back("recent_feedback", 1);
  }
  if (static_user_dim > 0) f.emplace_back("static_user", static_user_dim);
  return f;
}

std::vector<std::pair<std::string, int>> FeatureLayout::RequestFields() const {
  return {{"log1p_position", 1},
          {"log1p_minutes", 1},
          {"prev_item", emb_dim},
          {"session_mean_item", emb_dim},
          {"prev_feedback", 1}};
}

void FillSessionFeatures(const FeatureLayout& layout, const SessionHistory& h, float* out) {
  const int d = layout.emb_dim;
  for (int k = 0; k < d; ++k) out[k] = h.user_embedding != nullptr ? h.user_embedding[k] : 0.f;
  float* p = out + d;
  p[0] = static_cast<float>(std::log1p(static_cast<double>(h.prev_sessions)));
  p[1] = static_cast<float>(std::log1p(std::max(0.0, h.mean_return_hours)));
  p[2] = static_cast<float>(h.mean_session_length);
  p[3] = static_cast<float>(std::log1p(std::max(0.0, h.hours_since_prev)));
  constexpr double kTwoPi = 6.283185307179586;
  const int64_t secs = h.start_ts_ms / 1000;
  const int64_t day_secs = ((secs % 86400) + 86400) % 86400;
  const double hour = day_secs / 3600.0;
  // 1970-01-01 was a Thursday; day 0 = Monday.
  const int64_t days = (secs - day_secs) / 86400;
  const int dow = static_cast<int>(((days + 3) % 7 + 7) % 7);
  p[4] = static_cast<float>(std::sin(kTwoPi * hour / 24));
  p[5] = static_cast<float>(std::cos(kTwoPi * hour / 24));
  p[6] = static_cast<float>(std::sin(kTwoPi * dow / 7));
  p[7] = static_cast<float>(std::cos(kTwoPi * dow / 7));
  for (int k = 0; k < layout.engagement_dim; ++k) {
    p[8 + k] = h.engagement != nullptr ? h.engagement[k] : 0.f;
  }
  float* stat = p + 8 + layout.engagement_dim;
  for (int k = 0; k < layout.static_user_dim; ++k) {
    stat[k] = h.static_user != nullptr ? h.static_user[k] : 0.f;
  }
}

void FillRequestFeatures(const FeatureLayout& layout, int64_t position, double minutes_since_start,
                         const float* prev_item, const float* session_item_sum,
                         float prev_feedback_std, float* out) {
  const int d = layout.emb_dim;
  out[0] = static_cast<float>(std::log1p(static_cast<double>(position)));
  out[1] = static_cast<float>(std::log1p(std::max(0.0, minutes_since_start)));
  float* prev = out + 2;
  float* mean = out + 2 + d;
  const float inv = position > 0 ? 1.f / static_cast<float>(position) : 0.f;
  for (int k = 0; k < d; ++k) {
    prev[k] = (position > 0 && prev_item != nullptr) ? prev_item[k] : 0.f;
    mean[k] = (position > 0 && session_item_sum != nullptr) ? session_item_sum[k] * inv : 0.f;
  }
  out[2 + 2 * d] = position > 0 ? prev_feedback_std : 0.f;
}

}  // namespace resact
