// Session-level estimators on logged test trajectories (method.md section 3,
// "Beyond NCIS"), free of any model code, and the paired comparison of two
// policies on the same trajectories.
//
// A trajectory is one test user's requests in order; each request has the
// log-probabilities of the logged action under the evaluated policy π and the
// behaviour policy π_β, its reward, and whether it ends a session. Session k's
// reward R_k is the sum of its requests' rewards (in resact's logs the
// return-time and session-length rewards sit on the session's last request)
// and L_k its length.
//
// Session-level weighted IS (per-decision WIS) gives session k the weight
//   w_k = min(exp(Σ log ρ_t), c),
// the sum over the requests from the horizon's start up to the session's last
// request: the session's own requests (kSession) or all requests of the
// trajectory so far (kTrajectory); the product is capped, in log space, at c
// as NCIS caps its ratios. Self-normalized per trajectory:
//   per session: J_ξ = Σ_k w_k R_k / Σ_k w_k,
//   per request: J_ξ = Σ_k w_k R_k / Σ_k w_k L_k,
// and the estimate is the mean of J_ξ over trajectories, with a percentile
// bootstrap CI over trajectories. With π = π_β every weight is 1 and J_ξ is
// the trajectory's mean reward per session (per request).
//
// NCIS's per-session figure: a trajectory's NCIS value (reward per request)
// times its requests per session, n_ξ / K_ξ; with π = π_β that is again the
// trajectory's reward per session.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace resact {

struct OpeTrajectory {
  std::vector<double> logp_pi;        // log π(a_t | s_t)
  std::vector<double> logp_beta;      // log π_β(a_t | s_t)
  std::vector<double> reward;         // r_t
  std::vector<uint8_t> session_end;   // 1 on each session's last request.
  // A model of Q^π (FQE, doubly_robust.h), when one is attached; empty
  // otherwise: Q̂(s_t, a_t) at the logged action and Q̂(s_t, π(s_t)).
  std::vector<double> q_logged;
  std::vector<double> v_pi;
};

enum class WeightHorizon { kSession, kTrajectory };

struct WisOptions {
  double cap = 10;  // c, on each session's weight (the product of its ratios).
  WeightHorizon horizon = WeightHorizon::kSession;
  int bootstrap = 1000;
  double confidence = 0.95;
  uint64_t seed = 0;
};

// One trajectory's estimate on both scales.
struct TrajectoryValue {
  double per_request = 0;
  double per_session = 0;
};

// An estimate on both scales with its bootstrap CIs over trajectories.
struct ScaledEstimate {
  double per_request = 0, per_request_ci_low = 0, per_request_ci_high = 0;
  double per_session = 0, per_session_ci_low = 0, per_session_ci_high = 0;
  int64_t trajectories = 0;
  int64_t sessions = 0;
  double ess = 0;              // (Σw)² / Σw² over the sessions' weights.
  double capped_fraction = 0;  // Share of session weights at the cap.
};

// J_ξ for each trajectory with at least one complete session (the requests
// after a trajectory's last session end carry no session and are ignored);
// `weights`, if not null, receives every session's weight.
std::vector<TrajectoryValue> SessionWisPerTrajectory(const std::vector<OpeTrajectory>& trajectories,
                                                     const WisOptions& options,
                                                     std::vector<double>* weights = nullptr);

ScaledEstimate SessionWis(const std::vector<OpeTrajectory>& trajectories, const WisOptions& options);

// Both scales' means and CIs of per-trajectory values (the same bootstrap
// resamples for both).
ScaledEstimate SummarizeTrajectoryValues(const std::vector<TrajectoryValue>& values,
                                         int bootstrap, double confidence, uint64_t seed);

// Requests per session of each trajectory with a complete session, in the
// order SessionWisPerTrajectory gives its values: NCIS's per-request value
// times this is its per-session figure.
std::vector<double> RequestsPerSession(const std::vector<OpeTrajectory>& trajectories);

// Per-request values (one per trajectory with a complete session, in that
// order) on both scales: per session is per request times the trajectory's
// requests per session (NCIS's, FQE's and DR's per-session figure).
std::vector<TrajectoryValue> WithPerSessionScale(const std::vector<double>& per_request,
                                                 const std::vector<OpeTrajectory>& trajectories);

// The difference challenger − champion of per-trajectory values measured on
// the same trajectories (index-aligned), with a paired percentile bootstrap
// CI: each resample draws trajectories and takes both policies' values of
// the drawn ones.
struct PairedDifference {
  double difference = 0, ci_low = 0, ci_high = 0;
  double champion = 0, challenger = 0;  // The two means.
  // Each mean's own bootstrap CI (same resamples and confidence).
  double champion_low = 0, champion_high = 0, challenger_low = 0, challenger_high = 0;
  int64_t trajectories = 0;
};

// An error when the two have different lengths or are empty.
absl::StatusOr<PairedDifference> PairedBootstrap(const std::vector<double>& champion,
                                                 const std::vector<double>& challenger,
                                                 int resamples, double confidence, uint64_t seed);

}  // namespace resact
