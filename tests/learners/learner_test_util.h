// Helpers shared by the learner tests (learners_test.cc, bcq_test.cc,
// iql_test.cc, resact_test.cc): an algorithm's weights by qualified name and
// their comparison, metric means over a window of trainer steps, and the
// small planted-optimum problem (planted_problem.h) the per-algorithm tests
// train on, with what a trained policy reaches on it.
#pragma once

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/policy/torch_policy.h"
#include "stages/learners/training/trainer.h"
#include "tests/learners/planted_problem.h"

namespace resact {
namespace learners {
namespace learner_test {

// Copies of the parameters and buffers of the algorithm's modules whose name
// starts with `prefix` ("" = all), by qualified name ("module/param").
inline std::map<std::string, torch::Tensor> Weights(Algorithm& algo,
                                                    const std::string& prefix = "") {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, module] : algo.Modules()) {
    if (name.rfind(prefix, 0) != 0) continue;
    for (const auto& p : module->named_parameters()) {
      out[name + "/" + p.key()] = p.value().detach().clone();
    }
    for (const auto& b : module->named_buffers()) {
      out[name + "/" + b.key()] = b.value().detach().clone();
    }
  }
  return out;
}

// Same names and bit-identical tensors; false for two empty maps.
inline bool Same(const std::map<std::string, torch::Tensor>& a,
                 const std::map<std::string, torch::Tensor>& b) {
  if (a.size() != b.size() || a.empty()) return false;
  for (const auto& [name, t] : a) {
    if (!b.count(name) || !torch::equal(t, b.at(name))) return false;
  }
  return true;
}

inline bool SameWeights(Algorithm& a, Algorithm& b) { return Same(Weights(a), Weights(b)); }

// Like SameWeights, but as gtest failures that name the differing tensors.
inline void ExpectSameWeights(Algorithm& a, Algorithm& b) {
  const auto wa = Weights(a), wb = Weights(b);
  ASSERT_EQ(wa.size(), wb.size());
  ASSERT_FALSE(wa.empty());
  for (const auto& [name, t] : wa) {
    ASSERT_TRUE(wb.count(name)) << name;
    EXPECT_TRUE(torch::equal(t, wb.at(name))) << "weights differ: " << name;
  }
}

// Steps the trainer `steps` times; the mean of each metric over the steps
// that reported it.
inline std::map<std::string, double> Window(Trainer& t, int steps) {
  std::map<std::string, std::pair<double, int>> acc;
  for (int i = 0; i < steps; ++i) {
    const absl::Status s = t.Step();
    EXPECT_TRUE(s.ok()) << s;
    for (const auto& [k, v] : t.last_metrics()) {
      acc[k].first += v;
      acc[k].second += 1;
    }
  }
  std::map<std::string, double> out;
  for (const auto& [k, v] : acc) out[k] = v.first / v.second;
  return out;
}

// A trainer of `o` on the problem's transitions (a test failure when that
// fails).
inline std::unique_ptr<Trainer> MakeTrainer(const PlantedProblem& p, const LearnerOptions& o) {
  auto t = Trainer::Create(o, p.source);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::move(t).value() : nullptr;
}

// Where a trained policy's actions lie on the planted problem (NaN when it
// could not act): its shift from a_β toward the optimum, its distance to
// a_β and its mean true reward (planted_problem.h).
struct PlantedOutcome {
  double shift = NAN;
  double distance = NAN;
  double mean_reward = NAN;
};

// Runs `t` to `steps` and measures its snapshot; the shift and mean reward
// are recorded as test properties.
inline PlantedOutcome TrainOnPlanted(const PlantedProblem& p, Trainer& t, int steps) {
  PlantedOutcome r;
  const absl::Status s = t.Run(steps);
  EXPECT_TRUE(s.ok()) << s;
  auto policy = t.Snapshot();
  EXPECT_TRUE(policy.ok()) << policy.status();
  if (!s.ok() || !policy.ok()) return r;
  r.shift = p.Shift(**policy);
  r.distance = p.Distance(**policy);
  r.mean_reward = p.MeanReward(**policy);
  ::testing::Test::RecordProperty("shift", std::to_string(r.shift));
  ::testing::Test::RecordProperty("mean_reward", std::to_string(r.mean_reward));
  return r;
}

// TrainOnPlanted for a fresh trainer of `algo` (seed 1).
inline PlantedOutcome TrainOnPlanted(const PlantedProblem& p, const std::string& algo,
                                     int steps) {
  std::unique_ptr<Trainer> t = MakeTrainer(p, p.Options(algo));
  return t == nullptr ? PlantedOutcome() : TrainOnPlanted(p, *t, steps);
}

// Trains `t` for 1500 steps and expects its policy to earn at least 0.1 more
// than the behaviour action with a shift toward the optimum in
// (min_shift, max_shift).
inline void ExpectMovesTowardTheOptimum(const PlantedProblem& p, Trainer& t, double min_shift,
                                        double max_shift) {
  const PlantedOutcome r = TrainOnPlanted(p, t, 1500);
  EXPECT_GT(r.mean_reward, p.BehaviourReward() + 0.1) << t.algo();
  EXPECT_GT(r.shift, min_shift) << t.algo() << ": distance to a_β " << r.distance;
  EXPECT_LT(r.shift, max_shift) << t.algo();
}

// The same for a fresh `algo` on the full planted problem (seed 1).
inline void ExpectMovesTowardTheOptimum(const std::string& algo, double min_shift,
                                        double max_shift) {
  const PlantedProblem p = MakePlantedProblem();
  std::unique_ptr<Trainer> t = MakeTrainer(p, p.Options(algo));
  ASSERT_NE(t, nullptr);
  ExpectMovesTowardTheOptimum(p, *t, min_shift, max_shift);
}

// The planted-optimum problem with 5000 training transitions and 500
// held-out states.
inline PlantedProblem SmallProblem(int session_dim = 3) {
  PlantedOptions o;
  o.transitions = 5000;
  o.eval_states = 500;
  o.session_dim = session_dim;
  return MakePlantedProblem(o);
}

}  // namespace learner_test
}  // namespace learners
}  // namespace resact
