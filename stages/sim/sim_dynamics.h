// The simulated world's long-term dynamics (`dynamics: LONG_TERM`,
// method.md section 5): a mutable per-user state that what is served
// changes, and the user's response given that state.
//   - Satiation: a level s_t in [0, 1) per topic. Every request first decays
//     all topics, s ← (1 − satiation_decay)·s, then raises the served item's
//     topic, s_t += satiation_gain·(1 − s_t). Between sessions it decays over
//     the gap of h hours, s ← s·exp(−ln2·h/satiation_half_life_hours).
//   - Satisfaction (standardized) = the STATIC satisfaction (with its noise)
//     + clickbait_weight·cb_i − satiation_weight·s_topic(i), with s taken
//     before the request.
//   - Trust τ follows a memory m, an EMA of quality minus clickbait: per
//     consumed item m += trust_step·((q_i − cb_i) − m), and τ = trust_min +
//     (trust_max − trust_min)·sigmoid(trust_slope·(m − trust_center)), so it
//     reverts to the level of what is served. The continue logit gains
//     trust_continue·(τ − trust_initial); the return gap is multiplied by
//     exp(−trust_return·(τ − trust_initial)) (before the min_return_hours
//     floor), so higher trust brings users back sooner.
//   - Calibration: the continue logit also gains continue_logit_offset; the
//     log return gap gains return_log_offset and (return_spread_scale − 1)
//     times the log of the user's base gap over return_hours_median. They
//     keep π_β's LONG_TERM log on Table 1 despite the satisfaction satiation
//     costs it and the return-gap spread trust adds.
//   - Churn (optional): at the end of a session the user leaves for good with
//     probability churn_hazard·(trust_max − τ)/(trust_max − trust_min).
// Under STATIC every function here is exactly SimWorld's (same draws, same
// arithmetic) and the state never changes, so one simulation loop serves
// both worlds.
#pragma once

#include <vector>

#include "stages/sim/sim_world.h"

namespace resact {

struct SimUserState {
  std::vector<double> satiation;  // Per topic (empty under STATIC).
  double trust = 0;
  double trust_memory = 0;  // m: the EMA of q − cb that sets trust.
  bool churned = false;
};

class SimDynamics {
 public:
  explicit SimDynamics(const SimWorld& world) : world_(world), lt_(world.options().long_term()) {}

  const SimWorld& world() const { return world_; }
  // A new user's state: no satiation, trust_initial. (The evaluator's
  // held-out users start from it too.)
  SimUserState InitialState() const;
  // Satisfaction with item row `item` in state `s` (before consuming it).
  double Satisfaction(const SimUser& user, const SimUserState& s, int32_t item, SimRng& rng) const;
  // The user consumes item row `item`: satiation and trust move.
  void Consume(SimUserState& s, int32_t item) const;
  // Satiation decays over `hours` between sessions.
  void Rest(SimUserState& s, double hours) const;
  double ContinueProbability(const SimUser& user, const SimUserState& s, double satisfaction) const;
  // Hours until the next session, given the session's mean satisfaction.
  double ReturnHours(const SimUser& user, const SimUserState& s, double mean_satisfaction,
                     SimRng& rng) const;
  // Probability that the user churns at the end of a session (0 without churn).
  double ChurnProbability(const SimUserState& s) const;
  // At the end of a session: draws churn (only when it is on) and returns
  // whether the user churned.
  bool EndSession(SimUserState& s, SimRng& rng) const;

 private:
  const SimWorld& world_;
  const LongTermOptions& lt_;
};

}  // namespace resact
