// The planted-optimum problem for learner tests, shared by every algorithm's
// test (il, il_cvae, ddpg, td3, td3_bc here; bcq, iql, resact too).
//
// A one-step task (done = 1, every transition ends its session, next state
// zeros) whose reward peaks at a known offset δ from the behaviour action:
//   s ~ N(0, I_state_dim)
//   a_β(s) = 0.5 · tanh(W s)                 (W fixed by the seed)
//   a_on   = clip(a_β(s) + σ·ε, −1, 1)       ε ~ N(0, I), σ = 0.5
//   r      = c − ||a_on − (a_β(s) + δ)||²   stored as r_rt (task RETURN_TIME)
// with δ = ±delta per dimension (signs fixed by the seed), so the optimum
// a_β + δ stays inside [-1, 1], and c = reward_offset = 1 (keeps Q away from
// 0, where TD3+BC's λ = α / mean|Q| would explode; session reward levels
// round(r) are then 0 or 1). An offline RL learner that improves on the
// behaviour moves its action from a_β(s) toward a_β(s) + δ; behaviour
// cloning stays at a_β(s). Shift() measures where a policy sits on that
// line: 0 = the behaviour action, 1 = the optimum.
//
// How to use it (e.g. in tests/learners/bcq_test.cc):
//
//   #include "tests/learners/planted_problem.h"
//   using resact::learners::learner_test::MakePlantedProblem;
//   auto p = MakePlantedProblem();                  // PlantedOptions defaults
//   LearnerOptions o = p.Options("bcq", /*seed=*/1); // small fast nets, see below
//   auto trainer = Trainer::Create(o, p.source);    // no run dir: nothing written
//   ASSERT_TRUE(trainer.ok()) << trainer.status();
//   ASSERT_TRUE((*trainer)->Run(1500).ok());
//   auto policy = (*trainer)->Snapshot();           // a resact::Policy
//   ASSERT_TRUE(policy.ok()) << policy.status();
//   EXPECT_GT(p.Shift(**policy), 0.3);              // moved toward the optimum
//   EXPECT_GT(p.MeanReward(**policy), p.BehaviourReward());  // and is better
//
// Options() returns LearnerOptions with hidden "64,64", batch 128, lr 1e-3,
// eval_every 100 and task RETURN_TIME; change fields after the call as
// needed. Shift(), Distance() and MeanReward() evaluate on `eval_states`
// held-out states that are not in the training data. For reference with the
// defaults (seed 1): td3_bc's shift is ≈ 3 at 250 steps (the actor runs
// to the action bounds before the critic has learned the curvature), ≈ 0.97
// at 500 and ≈ 0.72 at 1500 steps, its mean reward ≈ 0.91 against the
// behaviour action's 0.64; td3 ≈ 0.84 at 1500; il stays within ±0.05 with a
// distance ≈ 0.12 (tests/learners/learners_test.cc).
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "graph/policy.h"
#include "stages/learners/learner_options.pb.h"
#include "stages/learners/training/trainer.h"

namespace resact {
namespace learners {
namespace learner_test {

struct PlantedOptions {
  int state_dim = 8;
  int action_dim = 4;
  int session_dim = 3;           // s_h = the first session_dim floats.
  int transitions = 20000;       // Training transitions.
  int eval_states = 2000;        // Held-out states for Shift() and friends.
  double behaviour_noise = 0.5;  // σ of the logged actions around a_β.
  double delta = 0.3;            // |δ| per action dimension.
  double reward_offset = 1.0;    // c in r = c − ||a_on − (a_β + δ)||².
  uint64_t seed = 7;
};

struct PlantedProblem {
  PlantedOptions options;
  std::vector<float> w;             // [action_dim × state_dim]
  std::vector<float> delta;         // [action_dim]
  std::shared_ptr<ArraySource> source;
  std::vector<float> eval_states;   // [eval_states × state_dim]

  // a_β(s) for one state.
  std::vector<float> Behaviour(const float* s) const {
    const int S = options.state_dim, A = options.action_dim;
    std::vector<float> a(A);
    for (int j = 0; j < A; ++j) {
      double x = 0;
      for (int k = 0; k < S; ++k) x += w[j * S + k] * s[k];
      a[j] = static_cast<float>(0.5 * std::tanh(x));
    }
    return a;
  }

  // Options for a quick, deterministic test run of `algo`.
  LearnerOptions Options(const std::string& algo, int64_t seed = 1) const {
    LearnerOptions o;
    o.set_algo(algo);
    o.set_task(LearnerOptions::RETURN_TIME);
    o.set_eval_every(100);
    o.set_checkpoint_every(0);
    o.set_normalization_samples(5000);
    o.mutable_common()->set_hidden("64,64");
    o.mutable_common()->set_batch_size(128);
    o.mutable_common()->set_lr(1e-3);
    o.mutable_common()->set_seed(seed);
    return o;
  }

  // The policy's actions on the held-out states.
  std::vector<float> Actions(const Policy& policy) const {
    const int n = options.eval_states;
    std::vector<float> a(static_cast<size_t>(n) * options.action_dim);
    const absl::Status s = policy.Act(eval_states.data(), n, a.data());
    if (!s.ok()) return {};
    return a;
  }

  // Mean over held-out states of <π(s) − a_β(s), δ> / ||δ||²: 0 at the
  // behaviour action, 1 at the optimum. NaN when Act fails.
  double Shift(const Policy& policy) const {
    double dd = 0;
    for (float d : delta) dd += d * d;
    return MeanOverEvalStates(policy, [&](const float* a, const std::vector<float>& b) {
             double along = 0;
             for (size_t j = 0; j < b.size(); ++j) along += (a[j] - b[j]) * delta[j];
             return along;
           }) /
           dd;
  }

  // Mean ||π(s) − a_β(s)|| over held-out states (0 = perfect cloning).
  double Distance(const Policy& policy) const {
    return MeanOverEvalStates(policy, [](const float* a, const std::vector<float>& b) {
      double d2 = 0;
      for (size_t j = 0; j < b.size(); ++j) d2 += (a[j] - b[j]) * (a[j] - b[j]);
      return std::sqrt(d2);
    });
  }

  // The true reward of acting with a_β(s) itself: c − ||δ||².
  double BehaviourReward() const {
    double r = options.reward_offset;
    for (float d : delta) r -= d * d;
    return r;
  }

  // Mean true reward c − ||π(s) − (a_β(s) + δ)||² over held-out states (the
  // optimum earns c).
  double MeanReward(const Policy& policy) const {
    return options.reward_offset +
           MeanOverEvalStates(policy, [&](const float* a, const std::vector<float>& b) {
             double sum = 0;
             for (size_t j = 0; j < b.size(); ++j) {
               const double e = a[j] - (b[j] + delta[j]);
               sum -= e * e;
             }
             return sum;
           });
  }

 private:
  // The mean over held-out states s of f(π(s), a_β(s)), π(s) as a pointer to
  // its action_dim values; NaN when Act fails.
  template <class F>
  double MeanOverEvalStates(const Policy& policy, F f) const {
    const std::vector<float> a = Actions(policy);
    if (a.empty()) return NAN;
    const int S = options.state_dim, A = options.action_dim;
    double sum = 0;
    for (int i = 0; i < options.eval_states; ++i) {
      sum += f(&a[static_cast<size_t>(i) * A], Behaviour(&eval_states[static_cast<size_t>(i) * S]));
    }
    return sum / options.eval_states;
  }
};

inline PlantedProblem MakePlantedProblem(const PlantedOptions& o = {}) {
  PlantedProblem p;
  p.options = o;
  const int S = o.state_dim, A = o.action_dim;
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  p.w.resize(static_cast<size_t>(A) * S);
  for (float& x : p.w) x = normal(rng) * static_cast<float>(1.5 / std::sqrt(S));
  for (int j = 0; j < A; ++j) {
    p.delta.push_back(static_cast<float>((rng() & 1) ? o.delta : -o.delta));
  }
  TransitionArrays t;
  t.state_dim = S;
  t.action_dim = A;
  t.session_dim = o.session_dim;
  const size_t n = static_cast<size_t>(o.transitions);
  t.state.resize(n * S);
  t.next_state.assign(n * S, 0.f);
  t.action.resize(n * A);
  t.r_rt.resize(n);
  t.r_sl.assign(n, 0.f);
  t.done.assign(n, 1.f);
  t.session_end.assign(n, 1);
  for (size_t i = 0; i < n; ++i) {
    float* s = &t.state[i * S];
    for (int k = 0; k < S; ++k) s[k] = normal(rng);
    const std::vector<float> b = p.Behaviour(s);
    double r = o.reward_offset;
    for (int j = 0; j < A; ++j) {
      const float a = std::clamp(b[j] + static_cast<float>(o.behaviour_noise) * normal(rng),
                                 -1.f, 1.f);
      t.action[i * A + j] = a;
      const double e = a - (b[j] + p.delta[j]);
      r -= e * e;
    }
    t.r_rt[i] = static_cast<float>(r);
  }
  p.eval_states.resize(static_cast<size_t>(o.eval_states) * S);
  for (float& x : p.eval_states) x = normal(rng);
  p.source = ArraySource::Create(std::move(t)).value();
  return p;
}

}  // namespace learner_test
}  // namespace learners
}  // namespace resact
