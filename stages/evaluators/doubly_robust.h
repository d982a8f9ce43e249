// The model-based estimators on logged test trajectories (method.md section
// 3): FQE's value and the per-decision doubly robust estimate (DR), from a
// model Q̂ of Q^π attached to each trajectory (OpeTrajectory::q_logged and
// v_pi; fqe.h fits one). Free of any model code.
//
// A trajectory has requests t = 0..T−1 (a test user's in order; the last one
// ends the user, done). With discount γ, h_t = Σ_{k < T−t} γ^k is the
// discounted number of requests left in the logged trajectory from t.
//
// FQE, per request:  J_ξ = Σ_t Q̂(s_t, π(s_t)) / Σ_t h_t,
// the mean of Q̂(s, π(s)) over the trajectory's states divided by the mean
// discounted horizon: Q̂ sums γ-discounted rewards, so this is a
// γ-weighted reward per request.
//
// DR (Jiang & Li, 2016), started at every state of the trajectory:
//   DR_t = Q̂(s_t, π(s_t)) + Σ_{j ≥ t} γ^{j−t}·W_{t,j}·δ_j,
//   δ_j = r_j + γ·Q̂(s_{j+1}, π(s_{j+1})) − Q̂(s_j, a_j)   (no next term at T−1),
//   W_{t,j} = min(exp(Σ_i log ρ_i), c), the capped product (in log space, as
//   NCIS and session-level WIS cap) of the ratios from the horizon's start up
//   to j: from t (WeightHorizon::kTrajectory), or from the later of t and
//   the first request of j's session (kSession, the default, as WIS);
// per request: J_ξ = Σ_t DR_t / Σ_t h_t. So DR is FQE's value plus the
// weighted TD residuals of the model on the logged data:
//  - with a model whose residuals are all 0, DR equals FQE whatever the
//    weights;
//  - with weights of 1 (π = π_β), DR is FQE plus the plain discounted
//    residuals, Σ_t Σ_{j≥t} γ^{j−t} δ_j / Σ_t h_t.
// The inner sum stops where γ^{j−t} < 1e-9.
//
// Per session, both are J_ξ times the trajectory's requests per session (as
// NCIS's per-session figure). Trajectories without a complete session are
// left out, as by the other estimators, so values line up with theirs.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "stages/evaluators/session_wis.h"

namespace resact {

// An error unless every trajectory has q_logged and v_pi of its length.
absl::Status CheckModelValues(const std::vector<OpeTrajectory>& trajectories);

// FQE's J_ξ on both scales for each trajectory with a complete session.
std::vector<TrajectoryValue> FqePerTrajectory(const std::vector<OpeTrajectory>& trajectories,
                                              double gamma);

// DR's J_ξ on both scales; `options` gives the cap and the weight horizon.
std::vector<TrajectoryValue> DrPerTrajectory(const std::vector<OpeTrajectory>& trajectories,
                                             double gamma, const WisOptions& options);

}  // namespace resact
