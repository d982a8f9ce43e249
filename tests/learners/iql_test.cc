// iql on the planted-optimum problem (tests/learners/planted_problem.h):
// falling losses, determinism for a seed, exact checkpoint/resume, identical
// actions after save/load, the expectile value sitting above the mean, and a
// policy that moves from the behaviour action toward the planted optimum.
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

TEST(Iql, LossesFall) {
  const PlantedProblem p = SmallProblem();
  auto t = Trainer::Create(p.Options("iql"), p.source).value();
  const auto first = Window(*t, 10);
  Window(*t, 540);
  const auto last = Window(*t, 50);
  for (const std::string loss : {"critic_loss", "actor_loss"}) {
    ASSERT_TRUE(first.count(loss)) << loss;
    // The critic fits r exactly in the limit; actor_loss has a floor set by
    // the behaviour noise.
    const double ratio = loss == "critic_loss" ? 0.5 : 0.8;
    RecordProperty(loss + "_ratio", std::to_string(last.at(loss) / first.at(loss)));
    EXPECT_LT(last.at(loss), ratio * first.at(loss))
        << loss << ": first window " << first.at(loss) << ", last " << last.at(loss);
  }
}

TEST(Iql, DeterministicForASeed) {
  const PlantedProblem p = SmallProblem();
  const LearnerOptions o = p.Options("iql", /*seed=*/5);
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

TEST(Iql, ResumeContinuesTheIdenticalTrajectory) {
  replay_test::TempDir tmp("iql_resume");
  const PlantedProblem p = SmallProblem();
  LearnerOptions o = p.Options("iql", /*seed=*/2);
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

TEST(Iql, SaveLoadGivesIdenticalActions) {
  const PlantedProblem p = SmallProblem();
  auto t = Trainer::Create(p.Options("iql", /*seed=*/3), p.source).value();
  ASSERT_TRUE(t->Run(30).ok());
  auto u = Trainer::Create(p.Options("iql", /*seed=*/4), p.source).value();
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

// V regresses the 0.7-expectile of Q over logged actions, so it sits above
// the mean Q (advantages average below 0), and with expectile 0.5 (the mean)
// it is lower than with 0.9.
TEST(Iql, ExpectileValueSitsAboveTheMean) {
  const PlantedProblem p = SmallProblem();
  std::map<double, double> v_mean;
  for (double tau : {0.5, 0.9}) {
    LearnerOptions o = p.Options("iql");
    o.mutable_iql()->set_expectile(tau);
    auto t = Trainer::Create(o, p.source).value();
    Window(*t, 600);
    const auto last = Window(*t, 100);
    v_mean[tau] = last.at("v_mean");
    if (tau == 0.9) EXPECT_LT(last.at("adv_mean"), 0.0);
  }
  EXPECT_GT(v_mean[0.9], v_mean[0.5] + 0.05);
}

TEST(Iql, MovesTowardThePlantedOptimum) {
  const PlantedProblem p = MakePlantedProblem();
  auto t = Trainer::Create(p.Options("iql"), p.source).value();
  ASSERT_TRUE(t->Run(1500).ok());
  auto policy = t->Snapshot().value();
  const double shift = p.Shift(*policy);
  RecordProperty("shift", std::to_string(shift));
  RecordProperty("mean_reward", std::to_string(p.MeanReward(*policy)));
  EXPECT_GT(p.MeanReward(*policy), p.BehaviourReward() + 0.1);
  // The weights exp(3·A) ∝ exp(−3·||a − (a_β + δ)||²) on N(a_β, 0.5²) logged
  // actions make the regression target a Gaussian of precision 4 + 6 per
  // dimension centred 6/10 of the way to a_β + δ (less a little for clipping).
  EXPECT_GT(shift, 0.4) << "distance to a_β " << p.Distance(*policy);
  EXPECT_LT(shift, 0.75);
}

}  // namespace
}  // namespace learners
}  // namespace resact
