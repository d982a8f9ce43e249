// The online simulation of held-out users that SimulatorEvaluator, the
// oracles' benchmark and the tests share: users that the log never has live
// their own π_β history, then the evaluated days under a policy, an oracle
// or π_β, with states built as the training pipeline builds them; their
// traces are summarized into the true rewards per request.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/payload.h"
#include "graph/policy.h"
#include "stages/features/session_history.h"
#include "stages/sim/sim_oracles.h"
#include "stages/sim/sim_world.h"

namespace resact {

// How the online evaluation builds states and rewards; mirrors the training
// pipeline (StateFeatures, the replay reader and the Reward stage).
struct SimEvalConfig {
  int users = 500;
  double days = 14.8;
  // Days of π_β history before the evaluated `days` (0: fresh users).
  double history_days = 0;
  int64_t user_id_offset = 1000000000;
  // How s_h is built: the replay's (ReplayMeta.session_state).
  SessionStateParams state;
  double feedback_mean = 0, feedback_std = 1;
  double return_cap_hours = 6;  // δ_75% of the training log.
  double session_length_scale = 0.8;
  int max_reward = 5;
  int bootstrap = 1000;
  // Width of s_h's static user features: 0, or the world's dim when the
  // training pipeline appended the users' profiles (SimWorld::Profile).
  int static_user_dim = 0;
  // Width of s_h's recent-engagement features (FeatureLayout::engagement_dim).
  int engagement_dim = 0;
};

// The parts of a SimEvalConfig that the replay of the log fixes, from its
// meta (`dir` names it in errors): s_h as the store builds it, the feedback
// standardization, δ_75% and the widths of s_h's user and engagement
// features. The rest keeps its defaults.
SimEvalConfig SimEvalConfigOfReplay(const ReplayMeta& meta, const std::string& dir);

// One user's simulated trajectory.
struct SimTrace {
  std::vector<uint32_t> session_length;
  std::vector<double> return_hours;  // sessions − 1 values
  // Each session's first and last request (Unix ms, as a log stores them);
  // s_h is built from these times.
  std::vector<int64_t> session_start_ms, session_end_ms;
  // When the evaluated days begin: the user's trust (LONG_TERM; 0 under
  // STATIC) and the sessions of its history.
  double start_trust = 0;
  int64_t history_sessions = 0;
};

// Held-out users user_id_offset+1 .. +users at the start of their evaluated
// days: each made, then living config.history_days of history under π_β on
// its own stream (5). Made once and shared by every SimulateUsers and
// RateCritic call with the same config (or fewer users), so the points of a
// learning curve do not re-live the same histories.
class HeldOutUsers {
 public:
  static absl::StatusOr<std::shared_ptr<const HeldOutUsers>> Start(const SimWorld& world,
                                                                    const SimEvalConfig& config);
  ~HeldOutUsers();
  int size() const;
  struct Runners;  // The users' simulation state (sim_rollout.cc).
  const Runners& runners() const { return *runners_; }

 private:
  explicit HeldOutUsers(std::unique_ptr<Runners> runners);
  std::unique_ptr<Runners> runners_;
};

// Simulates held-out users user_id_offset+1 .. +users: the first config.users
// of `start` (made by HeldOutUsers::Start with the same world and config, or
// more users; null: made here), then `days` under `policy`, under `chooser`
// (an oracle of sim_oracles.h, which picks item rows; `policy` must then be
// null), or under the logging policy π_β when both are null. Users advance
// in lockstep so the policy acts on batches; a chooser chooses for the users
// in parallel, each on its own stream. Deterministic for the world's seed,
// whatever the thread count.
absl::StatusOr<std::vector<SimTrace>> SimulateUsers(const SimWorld& world,
                                                    const SimEvalConfig& config,
                                                    const Policy* policy,
                                                    const ItemChooser* chooser = nullptr,
                                                    const HeldOutUsers* start = nullptr);

// How well a policy's critic ranks its own candidates by their true value.
struct CriticQuality {
  int states = 0;         // States rated (with two or more distinct values).
  double spearman = NAN;  // Mean over states of Spearman(score, true value).
  // Mean over states of the true value of the top-scored candidate, and of
  // the best candidate, minus the candidates' mean (task reward per request):
  // positive pick_gain means selecting by the critic helps.
  double pick_gain = NAN, best_gain = NAN;
};

// Rates `policy`'s critic (it must have candidates()) at the first request
// of the evaluated days of the first `states` held-out users: each
// candidate is served as its item and valued by `rollouts` rollouts of the
// true dynamics (CandidateValuer, `sessions` sessions beyond the current
// one, common random numbers per state from the user's own stream 6).
// `start` as for SimulateUsers.
absl::StatusOr<CriticQuality> RateCritic(const SimWorld& world, const SimEvalConfig& config,
                                         const Policy& policy, const OracleObjective& objective,
                                         int states, int rollouts, int sessions,
                                         const HeldOutUsers* start = nullptr);

// Metrics of `traces` with 95% bootstrap CIs over users: r_rt, r_sl and the
// task reward (w_rt·r_rt + w_sl·r_sl) per request (`reward`) and per
// session (`reward_per_session`), mean return hours and mean session length. Rewards use each user's own averages under π_β
// (`baseline`), as the log's rewards do, and the log's δ_75%.
// `baseline` has at least traces.size() users (the first ones are used).
void SummarizeTraces(absl::Span<const SimTrace> traces, absl::Span<const SimTrace> baseline,
                     const SimEvalConfig& config, double w_rt, double w_sl,
                     const std::string& prefix, MetricsBatch* out);

}  // namespace resact
