// The test users' logged trajectories, ready for importance-sampling
// estimators (method.md section 3): loaded once, then evaluated for any
// number of policies. NcisEvaluator uses it for each snapshot, and
// ComparePolicies for a challenger against a champion on the same
// trajectories (the promotion decision of daily retraining). This header has
// no torch; the behaviour model behind it does.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/load_once.h"
#include "graph/policy.h"
#include "stages/evaluators/evaluator_options.pb.h"
#include "stages/evaluators/ncis.h"
#include "stages/evaluators/session_wis.h"
#include "stages/sim/sim_options.pb.h"

namespace resact {

class BehaviourModel;
class FqeModel;
class ReplayReader;
class ServePropensities;
namespace learners {
class TransitionSource;
}

struct OffPolicyOptions {
  double cap = 10;     // c of every estimator's weights.
  double sigma = 0;    // σ of π(a|s) = N(μ_π(s), σ² I); 0: the behaviour model's mean std.
  WeightHorizon wis_horizon = WeightHorizon::kSession;
  int bootstrap = 1000;
  uint64_t seed = 0;
  int64_t max_test_users = 0;      // The first ones in store order; 0 = all.
  // Only the test sessions that start at or after this time (Unix ms): the
  // newest days (ReplayReaderOptions::min_session_start_ms).
  int64_t min_session_start_ms = std::numeric_limits<int64_t>::min();
  uint64_t memory_budget_bytes = 4ull << 30;
  FqeOptions fqe;  // FQE and DR (fqe.h, doubly_robust.h).
  // A simulator log's world: with serve_draws > 0, π_β's and the evaluated
  // policy's probabilities of serving the logged items (sim_propensity.h).
  bool has_sim = false;
  SimulatorOptions sim;
  int serve_draws = 0;
};

enum class OpeEstimator { kNcis, kWis, kFqe, kDr };
enum class OpeScale { kPerRequest, kPerSession };

class OffPolicyData {
 public:
  // The replay's test split and π_β's log-density of every logged action.
  static absl::StatusOr<std::unique_ptr<OffPolicyData>> Load(const std::string& replay_dir,
                                                             const std::string& behaviour_path,
                                                             const OffPolicyOptions& options);
  ~OffPolicyData();

  const OffPolicyOptions& options() const { return options_; }
  uint64_t users() const { return users_; }
  uint64_t transitions() const { return transitions_; }
  double sigma() const { return sigma_; }
  // Whether the log records π_β's propensities (simulator logs).
  bool has_true_propensity() const;
  // Whether the serve probabilities are known (options has_sim and
  // serve_draws > 0, on a log of that world).
  bool has_serve_propensity() const { return serve_ != nullptr; }
  const ReplayReader& test() const { return *test_; }

  // The first `users` (≤ users()) test trajectories with log π(a | s) of
  // `policy`, the fitted log π_β and the task's reward (`task`:
  // return_time, session_length or both). `actions`, when not null,
  // receives the policy's action at every state of those trajectories, in
  // order ([transitions × action_dim]; for AttachModel).
  absl::StatusOr<std::vector<OpeTrajectory>> Trajectories(const Policy& policy,
                                                          const std::string& task,
                                                          uint64_t users,
                                                          std::vector<float>* actions = nullptr) const;
  // Fits FQE (fqe.h, options().fqe) of `policy` for `task` on the replay's
  // train split, which is loaded on the first call and kept.
  absl::StatusOr<std::unique_ptr<FqeModel>> FitFqe(const Policy& policy,
                                                   const std::string& task) const;
  // Fills q_logged and v_pi of `trajectories` (the first ones of the test
  // split, from Trajectories) with `model` at the logged actions and at
  // `actions` (the policy's, from Trajectories).
  absl::Status AttachModel(const FqeModel& model, const std::vector<float>& actions,
                           std::vector<OpeTrajectory>* trajectories) const;
  // `trajectories` (from Trajectories or Logged) with the log's own π_β
  // propensities in place of the fitted ones; an error when it has none.
  absl::StatusOr<std::vector<OpeTrajectory>> WithTruePropensity(
      std::vector<OpeTrajectory> trajectories) const;
  // `trajectories` with the serve probabilities of the logged items in
  // place of the densities: log p̂_β(i_t | u_t) and log p̂_π(i_t | s_t) for
  // π = N(actions_t, σ² I), σ as in Trajectories; `actions` from
  // Trajectories. An error without has_serve_propensity().
  absl::StatusOr<std::vector<OpeTrajectory>> WithServePropensity(
      std::vector<OpeTrajectory> trajectories, const std::vector<float>& actions) const;
  // π_β's own trajectories: log π = log π_β (every weight 1).
  std::vector<OpeTrajectory> Logged(const std::string& task, uint64_t users) const;

 private:
  OffPolicyData() = default;
  // Transitions of the first `users` test trajectories.
  uint64_t TransitionsOf(uint64_t users) const;
  // Sets each trajectory's `field` to its slice of `per_transition` (indexed
  // by test transition, the trajectories being the first ones of the split).
  void Scatter(const std::vector<double>& per_transition, std::vector<double> OpeTrajectory::*field,
               std::vector<OpeTrajectory>* trajectories) const;
  OffPolicyOptions options_;
  std::string replay_dir_;
  std::unique_ptr<ReplayReader> test_;
  mutable LoadOnce train_once_;
  mutable std::shared_ptr<const learners::TransitionSource> train_;
  std::unique_ptr<ServePropensities> serve_;
  std::unique_ptr<BehaviourModel> behaviour_;
  double sigma_ = 1;
  uint64_t users_ = 0, transitions_ = 0;
  std::vector<double> logp_beta_;  // Fitted π_β at each logged action.
};

// The options of the two estimators, from `options`.
NcisOptions NcisOptionsOf(const OffPolicyOptions& options);
WisOptions WisOptionsOf(const OffPolicyOptions& options);

// Each trajectory's NCIS value on both scales (per session: its per-request
// value times its requests per session), in the order of `trajectories`
// (those with a complete session); `weights`, if not null, receives every
// request's capped ratio.
std::vector<TrajectoryValue> NcisValues(const std::vector<OpeTrajectory>& trajectories,
                                        const OffPolicyOptions& options,
                                        std::vector<double>* weights = nullptr);

// Each trajectory's value under `estimator` on `scale`, in the order of
// `trajectories` (those with a complete session). kFqe and kDr need the
// model values attached (AttachModel).
absl::StatusOr<std::vector<double>> PerTrajectoryValues(
    const std::vector<OpeTrajectory>& trajectories, OpeEstimator estimator, OpeScale scale,
    const OffPolicyOptions& options);

// Challenger − champion on the same test trajectories (all of `data`'s
// users), with the paired bootstrap CI of the difference (session_wis.h).
// kFqe and kDr fit FQE for each of the two policies first.
// Promote when ci_low exceeds the margin.
absl::StatusOr<PairedDifference> ComparePolicies(const OffPolicyData& data,
                                                 const Policy& champion,
                                                 const Policy& challenger,
                                                 const std::string& task, OpeEstimator estimator,
                                                 OpeScale scale, bool true_propensity = false);

}  // namespace resact
