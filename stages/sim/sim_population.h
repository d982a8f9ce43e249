// The simulated users of the closed loop (method.md section 6): the log's own
// users 1..N of a world, living day by day under whatever serves them that
// day (a policy with Gaussian exploration around its action, an oracle, or
// π_β), with the propensity of every served item logged. Each user keeps its
// long-term state (satiation, trust, churn), its open session across
// midnight and its history s_h, built as the daily store builds it, from
// one day to the next.
//
// The streams are the log's: a user's responses (and π_β's actions) come
// from its stream 2, as in SimulatorLogSource, so a population served by π_β
// lives exactly the simulated log; a policy's exploration comes from its
// stream 7 and a chooser's from its stream 4. Deterministic for the world's
// seed whatever the thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/payload.h"
#include "graph/policy.h"
#include "stages/sim/sim_oracles.h"
#include "stages/sim/sim_rollout.h"
#include "stages/sim/sim_world.h"

namespace resact {

// One day's logged requests, in lockstep order.
struct SimDayLog {
  std::vector<int64_t> user, item, ts_ms;  // Item ids, Unix ms.
  std::vector<float> feedback, logprob;    // log density of the served item's embedding.
  size_t size() const { return user.size(); }
};

// Who serves a day: `policy` (its action a, plus exploration_std·ε, picks
// the served item; the logged propensity is log N(e_served; a,
// exploration_std² I)), else `chooser`, else π_β (both null).
struct SimServing {
  const Policy* policy = nullptr;
  double exploration_std = 0.5;
  const ItemChooser* chooser = nullptr;
};

// The day a request at Unix ms `ts_ms` belongs to, counted from the world's
// start_ts (SimulatorLogSource's day-DDD.csv partitions).
int64_t SimDayOf(const SimulatorOptions& o, int64_t ts_ms);

class SimPopulation {
 public:
  // Users 1..users (0: the world's num_users()) at the world's start, living
  // at most `days` days. `config` fixes how s_h is built (state,
  // static_user_dim, engagement_dim); its users, days, history_days and
  // user_id_offset are ignored.
  static absl::StatusOr<std::unique_ptr<SimPopulation>> Start(const SimWorld& world,
                                                              const SimEvalConfig& config,
                                                              int64_t users, int days);
  ~SimPopulation();

  // Lives day `day` (the next day: 0, 1, ... in order): every request that
  // falls in it, under `serving`. A session open at midnight goes on the
  // next day. `feedback_mean` and `feedback_std` standardize the policy's
  // states as the store does today. Appends the requests to `log` (may be
  // null).
  absl::Status LiveDay(int day, const SimServing& serving, double feedback_mean,
                       double feedback_std, SimDayLog* log);

  int64_t size() const;
  int days_lived() const;
  // Users that have not churned.
  int64_t active() const;
  // Every user's sessions so far (SimTrace; the open session is not in it).
  std::vector<SimTrace> Traces() const;

 private:
  struct Impl;
  explicit SimPopulation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The true engagement of the sessions that start on day `day` of `traces`
// (a population's; the sessions whose return is not yet known count for
// their length only), summarized as SummarizeTraces does with `baseline`
// (π_β's traces of the same users) for each user's own averages, under
// `prefix`: reward, r_rt, r_sl, return_hours, session_length with their CIs,
// plus `active_users` (users with a session that day) and `requests`.
void SummarizeDay(const std::vector<SimTrace>& traces, const std::vector<SimTrace>& baseline,
                  const SimEvalConfig& config, const SimulatorOptions& world, int day, double w_rt,
                  double w_sl, const std::string& prefix, MetricsBatch* out);

}  // namespace resact
