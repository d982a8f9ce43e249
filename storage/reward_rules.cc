#include "storage/reward_rules.h"

#include <algorithm>
#include <cmath>

#include "storage/replay.pb.h"

namespace resact {

void SessionRewards(const int64_t* start_ms, const int64_t* end_ms, const uint64_t* length,
                    size_t n, const RewardRule& rule, uint8_t* r_rt, uint8_t* r_sl,
                    RewardCensorCounts* counts) {
  const double max_r = rule.max_reward;
  auto delta_hours = [&](size_t s) { return (start_ms[s + 1] - end_ms[s]) / 3.6e6; };
  double ret_sum = 0, len_sum = 0;
  for (size_t s = 0; s < n; ++s) {
    len_sum += static_cast<double>(length[s]);
    if (s + 1 < n) ret_sum += delta_hours(s);
  }
  const double len_avg = len_sum / static_cast<double>(n);
  const double ret_avg = n > 1 ? ret_sum / static_cast<double>(n - 1) : 0;
  const double cap = std::min(ret_avg, rule.return_cap_hours);
  const double horizon = rule.censor_after_hours;
  // The reward of a return time δ (hours).
  auto reward_of = [&](double delta) {
    return std::clamp(delta > 0 ? std::floor(cap / delta) : max_r, 0.0, max_r);
  };
  const double censored_value = rule.censored == RewardRule::Censored::kHorizon && horizon > 0
                                    ? reward_of(horizon)
                                    : 0.0;
  for (size_t s = 0; s < n; ++s) {
    double rt = 0;
    if (s + 1 < n) {
      const double delta = delta_hours(s);
      if (horizon > 0 && delta > horizon) {
        rt = censored_value;
      } else {
        rt = reward_of(delta);
      }
    } else if (horizon > 0) {
      const bool censored = (rule.reference_ms - end_ms[s]) / 3.6e6 > horizon;
      rt = censored ? censored_value : 0;
      if (counts != nullptr) ++(censored ? counts->censored : counts->pending);
    } else if (counts != nullptr) {
      ++counts->pending;
    }
    double sl = std::floor(static_cast<double>(length[s]) / (len_avg * rule.session_length_scale));
    sl = std::clamp(sl, 0.0, max_r);
    r_rt[s] = static_cast<uint8_t>(rt);
    r_sl[s] = static_cast<uint8_t>(sl);
  }
}

RewardRule RewardRuleOf(const ReplayRewardStats& stats, int64_t last_request_ms) {
  RewardRule rule;
  rule.return_cap_hours = stats.return_p75_hours();
  if (stats.has_session_length_scale()) rule.session_length_scale = stats.session_length_scale();
  if (stats.has_max_reward()) rule.max_reward = stats.max_reward();
  rule.censor_after_hours = stats.censor_after_hours();
  rule.censored = stats.censored_value() == 1 ? RewardRule::Censored::kHorizon
                                              : RewardRule::Censored::kZero;
  rule.reference_ms = last_request_ms;
  return rule;
}

}  // namespace resact
