// bcq on the planted-optimum problem (tests/learners/planted_problem.h):
// falling losses, determinism for a seed, exact checkpoint/resume, identical
// actions after save/load, bounded perturbations, and a policy that moves
// from the behaviour action toward the planted optimum.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "stages/learners/learner_core.h"
#include "stages/learners/torch_policy.h"
#include "stages/learners/trainer.h"
#include "tests/learners/planted_problem.h"
#include "tests/replay/replay_test_util.h"

namespace resact {
namespace learners {
namespace {

using learner_test::MakePlantedProblem;
using learner_test::PlantedOptions;
using learner_test::PlantedProblem;

std::map<std::string, torch::Tensor> Weights(Algorithm& algo) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, module] : algo.Modules()) {
    for (const auto& p : module->named_parameters()) out[name + "/" + p.key()] = p.value();
  }
  return out;
}

bool SameWeights(Algorithm& a, Algorithm& b) {
  const auto wa = Weights(a), wb = Weights(b);
  if (wa.size() != wb.size() || wa.empty()) return false;
  for (const auto& [name, t] : wa) {
    if (!wb.count(name) || !torch::equal(t, wb.at(name))) return false;
  }
  return true;
}

// Steps the trainer `steps` times; the mean of each metric over those steps.
std::map<std::string, double> Window(Trainer& t, int steps) {
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

PlantedProblem SmallProblem() {
  PlantedOptions o;
  o.transitions = 5000;
  o.eval_states = 500;
  return MakePlantedProblem(o);
}

TEST(Bcq, LossesFall) {
  const PlantedProblem p = SmallProblem();
  auto t = Trainer::Create(p.Options("bcq"), p.source).value();
  const auto first = Window(*t, 10);
  Window(*t, 540);
  const auto last = Window(*t, 50);
  for (const std::string loss : {"critic_loss", "vae_loss"}) {
    ASSERT_TRUE(first.count(loss)) << loss;
    // The critic fits r exactly in the limit; vae_loss has a floor set by
    // the behaviour noise.
    const double ratio = loss == "critic_loss" ? 0.5 : 0.8;
    RecordProperty(loss + "_ratio", std::to_string(last.at(loss) / first.at(loss)));
    EXPECT_LT(last.at(loss), ratio * first.at(loss))
        << loss << ": first window " << first.at(loss) << ", last " << last.at(loss);
  }
}

TEST(Bcq, DeterministicForASeed) {
  const PlantedProblem p = SmallProblem();
  const LearnerOptions o = p.Options("bcq", /*seed=*/5);
  auto a = Trainer::Create(o, p.source).value();
  auto b = Trainer::Create(o, p.source).value();
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(a->Step().ok());
    ASSERT_TRUE(b->Step().ok());
    ASSERT_EQ(a->last_metrics(), b->last_metrics()) << "step " << i + 1;
  }
  EXPECT_TRUE(SameWeights(a->algorithm(), b->algorithm()));
  LearnerOptions other = o;
  other.mutable_common()->set_seed(6);
  auto c = Trainer::Create(other, p.source).value();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c->Step().ok());
  EXPECT_FALSE(SameWeights(a->algorithm(), c->algorithm()));
}

TEST(Bcq, ResumeContinuesTheIdenticalTrajectory) {
  replay_test::TempDir tmp("bcq_resume");
  const PlantedProblem p = SmallProblem();
  LearnerOptions o = p.Options("bcq", /*seed=*/2);
  o.set_eval_every(5);
  const int64_t k = 7;
  auto straight = Trainer::Create(o, p.source, tmp / "straight").value();
  ASSERT_TRUE(straight->Run(2 * k).ok());
  {
    auto first = Trainer::Create(o, p.source, tmp / "resumed").value();
    ASSERT_TRUE(first->Run(k).ok());
  }
  auto second = Trainer::Create(o, p.source, tmp / "resumed").value();
  ASSERT_TRUE(second->resumed());
  ASSERT_TRUE(second->Run(2 * k).ok());
  EXPECT_TRUE(SameWeights(straight->algorithm(), second->algorithm()));
  EXPECT_EQ(straight->last_metrics(), second->last_metrics());
}

TEST(Bcq, SaveLoadGivesIdenticalActions) {
  const PlantedProblem p = SmallProblem();
  auto t = Trainer::Create(p.Options("bcq", /*seed=*/3), p.source).value();
  ASSERT_TRUE(t->Run(30).ok());
  auto u = Trainer::Create(p.Options("bcq", /*seed=*/4), p.source).value();
  ASSERT_FALSE(SameWeights(t->algorithm(), u->algorithm()));
  ASSERT_TRUE(DeserializeModules(SerializeModules(t->algorithm()), u->algorithm()).ok());
  EXPECT_TRUE(SameWeights(t->algorithm(), u->algorithm()));
  torch::NoGradGuard no_grad;
  const torch::Tensor states = torch::randn({64, p.options.state_dim});
  t->context().generator.set_current_seed(11);
  u->context().generator.set_current_seed(11);
  const torch::Tensor a = t->algorithm().Act(states);
  const torch::Tensor b = u->algorithm().Act(states);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{64, p.options.action_dim}));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_LE(a.abs().max().item<float>(), 1.f);
}

// Acting picks among decoded candidates moved by at most Φ: with Φ = 0 and a
// decoder whose latent is clipped, BCQ's actions are decoded actions; with
// Φ > 0 they differ from those by at most Φ per dimension.
TEST(Bcq, PerturbationIsBoundedByPhi) {
  const PlantedProblem p = SmallProblem();
  LearnerOptions o = p.Options("bcq", /*seed=*/3);
  o.mutable_bcq()->set_act_candidates(1);
  o.mutable_bcq()->set_phi(0.2);
  LearnerOptions zero = o;
  zero.mutable_bcq()->set_phi(0.0);
  auto t = Trainer::Create(o, p.source).value();
  ASSERT_TRUE(t->Run(50).ok());
  auto z = Trainer::Create(zero, p.source).value();
  ASSERT_TRUE(DeserializeModules(SerializeModules(t->algorithm()), z->algorithm()).ok());
  torch::NoGradGuard no_grad;
  const torch::Tensor states = torch::randn({256, p.options.state_dim});
  t->context().generator.set_current_seed(9);
  z->context().generator.set_current_seed(9);
  const torch::Tensor perturbed = t->algorithm().Act(states);
  const torch::Tensor decoded = z->algorithm().Act(states);  // Φ = 0: the decoded action.
  const float max_move = (perturbed - decoded).abs().max().item<float>();
  EXPECT_LE(max_move, 0.2f + 1e-5f);
  EXPECT_GT(max_move, 0.01f);
}

TEST(Bcq, MovesTowardThePlantedOptimum) {
  const PlantedProblem p = MakePlantedProblem();
  auto t = Trainer::Create(p.Options("bcq"), p.source).value();
  ASSERT_TRUE(t->Run(1500).ok());
  auto policy = t->Snapshot().value();
  const double shift = p.Shift(*policy);
  RecordProperty("shift", std::to_string(shift));
  RecordProperty("mean_reward", std::to_string(p.MeanReward(*policy)));
  EXPECT_GT(p.MeanReward(*policy), p.BehaviourReward() + 0.1);
  EXPECT_GT(shift, 0.3) << "distance to a_β " << p.Distance(*policy);
  EXPECT_LT(shift, 1.3);
}

}  // namespace
}  // namespace learners
}  // namespace resact
