// Reference policies of the simulator that see the hidden state (method.md
// section 5, "Oracles"); they are not learners. Each picks an item row
// directly (not an action) through SimulateUsers' ItemChooser hook:
//   - GreedyOracle serves the item with the highest expected immediate
//     satisfaction given the true user and state: the noise-free
//     ExpectedSatisfaction + clickbait_weight·cb_i − satiation_weight·s_topic(i)
//     (LONG_TERM; under STATIC just ExpectedSatisfaction). Exact argmax over
//     the catalogue: the per-user part is scored once per user, and within a
//     topic the satiation term is constant, so each request takes the best
//     of each topic's best item.
//   - LookaheadOracle plans with the true dynamics. Per request it takes the
//     top `candidates` items by immediate expected satisfaction and scores
//     each by `rollouts` Monte-Carlo rollouts of SimDynamics from a copy of
//     the state: the candidate, then the greedy oracle, until the end of the
//     current session and `sessions` more sessions (or churn). The value of a
//     rollout is the task's reward per request over it,
//     (w_rt·Σ min(cap/δ, max_reward) + w_sl·Σ min(L/(scale·L̄), max_reward)) /
//     requests, with δ each session's return gap, L its length, L̄ the user's
//     base mean session length and cap = return_cap_hours: the evaluator's
//     r_rt and r_sl without their floor (smoother for planning) and with the
//     log's δ_75% as cap. Beyond the horizon the rollout adds the sessions
//     left until the user's end (hours_left / the rollout's mean gap), each
//     worth the rollout's mean reward and requests per session, plus
//     (w_rt·trust_return + w_sl·trust_continue)·Δτ times that mean reward
//     for the sessions the trust memory keeps Δτ, the trust the rollout
//     gained: min(sessions left, 1/(1 − (1 − trust_step)^L̂)) at the
//     rollout's mean session length L̂ (a first-order value of trust). All
//     candidates use the same rollouts' random numbers (common random
//     numbers), drawn from the oracle's private stream, so the user's own
//     stream is untouched. A candidate replaces the greedy choice (the top
//     one) only when the lower bound, mean − 2 standard errors, of its paired
//     gain over the greedy choice's rollouts is positive (the largest bound
//     wins): picking the best of 16 noisy means would mostly pick noise.
//     Cost per request: about candidates·rollouts·(requests per rollout)
//     dynamics steps of O(topics) each (16·8·~10 at the defaults).
// Both are deterministic functions of the world, the user and the stream
// SimulateUsers gives them, so their traces do not depend on thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "stages/sim/sim_dynamics.h"

namespace resact {

// The current session as SimulateUsers knows it when an item is chosen.
struct SimSessionProgress {
  int64_t position = 0;  // Requests already served in this session.
  double sat_sum = 0;    // Their satisfaction's sum.
  double hours_left = 0;  // Hours from now to the end of the user's simulation.
};

// One user's chooser (holds its per-user precomputation).
class SimUserChooser {
 public:
  virtual ~SimUserChooser() = default;
  // Row of the item to serve in `state`; `rng` is the chooser's own stream.
  virtual int32_t Choose(const SimUserState& state, const SimSessionProgress& session,
                         SimRng& rng) = 0;
};

// Serves items in SimulateUsers instead of a Policy or π_β.
class ItemChooser {
 public:
  virtual ~ItemChooser() = default;
  virtual std::unique_ptr<SimUserChooser> ForUser(const SimUser& user) const = 0;
};

class GreedyOracle : public ItemChooser {
 public:
  explicit GreedyOracle(const SimDynamics& dynamics) : dynamics_(dynamics) {}
  std::unique_ptr<SimUserChooser> ForUser(const SimUser& user) const override;

 private:
  const SimDynamics& dynamics_;
};

// The lookahead oracle's objective: the task's reward weights and the
// evaluator's reward parameters (SimEvalConfig).
struct OracleObjective {
  double w_rt = 1, w_sl = 0;
  double return_cap_hours = 6;
  double session_length_scale = 0.8;
  double max_reward = 5;
};

struct LookaheadParams {
  int candidates = 16;
  int rollouts = 8;
  int sessions = 2;  // Sessions after the current one in each rollout.
};

class LookaheadOracle : public ItemChooser {
 public:
  LookaheadOracle(const SimDynamics& dynamics, const OracleObjective& objective,
                  const LookaheadParams& params)
      : dynamics_(dynamics), objective_(objective), params_(params) {}
  std::unique_ptr<SimUserChooser> ForUser(const SimUser& user) const override;

 private:
  const SimDynamics& dynamics_;
  OracleObjective objective_;
  LookaheadParams params_;
};

// The true long-term value of serving an item now, as the lookahead oracle
// scores its candidates: the mean over rollouts (one per seed; the same seeds
// for every item compared, i.e. common random numbers) of the task's reward
// per request when the item is served now and the greedy oracle serves the
// rest of the session and `sessions` more, with the value beyond the
// horizon. SimulatorEvaluator rates a policy's critic with it.
class CandidateValuer {
 public:
  CandidateValuer(const SimDynamics& dynamics, const SimUser& user,
                  const OracleObjective& objective, int sessions);
  ~CandidateValuer();
  double Value(int32_t item, const SimUserState& state, const SimSessionProgress& session,
               const std::vector<uint64_t>& seeds) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace resact
