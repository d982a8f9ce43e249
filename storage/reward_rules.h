// The reward formulas of method.md section 1 for one user's sessions, in
// one place: the Reward stage applies them when a batch run writes the
// replay, and the replay reader applies them when a daily-retraining store
// (stages/replay/daily_ingest.h) is read, whose rewards depend on
// statistics that change with every ingested day:
//   r_rt = clip(floor(min(δ_avg^u, δ_p) / δ), 0, max_reward)  (0 for the last session)
//   r_sl = clip(floor(η / (session_length_scale · η_avg^u)), 0, max_reward)
// δ_avg^u and η_avg^u are the user's means over the given sessions, δ_p the
// log-wide percentile cap.
//
// Censoring (off unless censor_after_hours > 0): a return time longer than
// the horizon, or a last session that ended more than the horizon before
// `reference_ms` (the newest request of the log), is censored: the user did
// not come back within the horizon, and r_rt takes `censored` (0 by
// default, or the reward of a return at exactly the horizon). A last
// session within the horizon is pending: r_rt = 0 until the user returns.
// The user's mean δ_avg^u counts every observed return time, censored or not.
#pragma once

#include <cstddef>
#include <cstdint>

namespace resact {

class ReplayRewardStats;

struct RewardRule {
  double return_cap_hours = 0;  // δ_p.
  double session_length_scale = 0.8;
  double max_reward = 5;
  double censor_after_hours = 0;  // 0: no censoring.
  enum class Censored { kZero = 0, kHorizon = 1 };
  Censored censored = Censored::kZero;
  int64_t reference_ms = 0;  // The newest request of the log.
};

// Counts of the last sessions: returns still pending, and censored ones
// (a last session past the horizon, or a return longer than it).
struct RewardCensorCounts {
  uint64_t pending = 0;
  uint64_t censored = 0;
};

// r_rt and r_sl for one user's `n` sessions (start and end in Unix ms, in
// time order, and lengths). Return times are computed in double precision
// from the timestamps. `counts` (optional) is added to.
void SessionRewards(const int64_t* start_ms, const int64_t* end_ms, const uint64_t* length,
                    size_t n, const RewardRule& rule, uint8_t* r_rt, uint8_t* r_sl,
                    RewardCensorCounts* counts = nullptr);

// The rule a store's reward statistics record (return_p75_hours, the
// session-length scale, the clip, the censoring and, as the reference, the
// store's newest request `last_request_ms`).
RewardRule RewardRuleOf(const ReplayRewardStats& stats, int64_t last_request_ms);

}  // namespace resact
