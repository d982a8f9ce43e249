// Helpers shared by the learner tests (learners_test.cc, bcq_test.cc,
// iql_test.cc, resact_test.cc): an algorithm's weights by qualified name and
// their comparison, metric means over a window of trainer steps, and the
// small planted-optimum problem (planted_problem.h) the per-algorithm tests
// train on.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "stages/learners/algorithms/algorithm.h"
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
