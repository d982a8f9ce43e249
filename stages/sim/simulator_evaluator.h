#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/feature_layout.h"
#include "graph/payload.h"
#include "graph/policy.h"
#include "graph/load_once.h"
#include "graph/registry.h"
#include "stages/sim/sim_options.pb.h"
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

// Simulates users user_id_offset+1 .. +users, each first living
// config.history_days of history under π_β (on the user's own stream, so the
// same for every call), then `days` under `policy`, under
// `chooser` (an oracle of sim_oracles.h, which picks item rows; `policy`
// must then be null), or under the logging policy π_β when both are null.
// Users advance in lockstep so the policy acts on batches; a chooser chooses
// for the users in parallel, each on its own stream. Deterministic for the
// world's seed, whatever the thread count.
absl::StatusOr<std::vector<SimTrace>> SimulateUsers(const SimWorld& world,
                                                    const SimEvalConfig& config,
                                                    const Policy* policy,
                                                    const ItemChooser* chooser = nullptr);

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
absl::StatusOr<CriticQuality> RateCritic(const SimWorld& world, const SimEvalConfig& config,
                                         const Policy& policy, const OracleObjective& objective,
                                         int states, int rollouts, int sessions);

// Metrics of `traces` with 95% bootstrap CIs over users: r_rt, r_sl and the
// task reward (w_rt·r_rt + w_sl·r_sl) per request, mean return hours and
// mean session length. Rewards use each user's own averages under π_β
// (`baseline`), as the log's rewards do, and the log's δ_75%.
void SummarizeTraces(const std::vector<SimTrace>& traces, const std::vector<SimTrace>& baseline,
                     const SimEvalConfig& config, double w_rt, double w_sl,
                     const std::string& prefix, MetricsBatch* out);

class SimulatorEvaluator : public StageWithOptions<SimulatorEvaluatorOptions> {
 public:
  StreamContract Contract() const override {
    return {{PayloadType::kPolicy}, {PayloadType::kMetrics}, /*max_concurrency=*/0};
  }
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;

 protected:
  absl::Status Init() override;

 private:
  absl::Status LoadConfig();
  const StageContext* ctx_ = nullptr;
  std::unique_ptr<SimWorld> world_;
  LoadOnce load_;  // LoadConfig() on the first snapshot.
  SimEvalConfig config_;
  // The oracles' metrics for `task`, simulated or read from the cache.
  absl::StatusOr<MetricsBatch> ReferenceRows(const std::string& task);
  absl::StatusOr<MetricsBatch> SimulateReferenceRows(const std::string& task);
  // The task's objective with the replay's reward parameters.
  OracleObjective ObjectiveOf(const std::string& task) const;
  std::vector<SimTrace> baseline_, greedy_;
  std::unique_ptr<SimDynamics> dynamics_;
  std::mutex reference_mu_;  // Guards reference_ and greedy_.
  std::map<std::string, MetricsBatch> reference_;  // Per task.
};

}  // namespace resact
