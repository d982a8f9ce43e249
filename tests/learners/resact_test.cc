// resact: its components (candidates, the bounded residual, the conciseness
// KL, the expressiveness classifier, selection by Q1), each ablation switch,
// and as a whole on the planted-optimum problem
// (tests/learners/planted_problem.h): a policy that moves from the behaviour
// action toward the planted optimum. Falling losses, determinism for a seed,
// exact checkpoint/resume and identical actions after save/load are checked
// for every algorithm by the LearnerAlgo suite in learners_test.cc.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/algorithms/resact.h"
#include "stages/learners/policy/torch_policy.h"
#include "stages/learners/training/trainer.h"
#include "tests/learners/learner_test_util.h"
#include "tests/learners/planted_problem.h"

namespace resact {
namespace learners {
namespace {

using learner_test::ExpectMovesTowardTheOptimum;
using learner_test::MakePlantedProblem;
using learner_test::MakeTrainer;
using learner_test::PlantedProblem;
using learner_test::Same;
using learner_test::SmallProblem;
using learner_test::Weights;
using learner_test::Window;

ResAct& AsResAct(Trainer& t) {
  auto* r = dynamic_cast<ResAct*>(&t.algorithm());
  EXPECT_NE(r, nullptr);
  return *r;
}

// The index of the candidate [n × A] in `candidates` closest to `action` [A],
// and its largest per-dimension distance.
std::pair<int64_t, float> Nearest(const torch::Tensor& candidates, const torch::Tensor& action) {
  const torch::Tensor d = (candidates - action.unsqueeze(0)).abs().amax(1);
  const int64_t j = d.argmin().item<int64_t>();
  return {j, d[j].item<float>()};
}

// Act on 32 random states, and the 10 candidates per state it chose among
// (drawn again from the same generator seed).
struct Acted {
  torch::Tensor states, act, cand;
};
Acted ActWithCandidates(Trainer& t, int state_dim, uint64_t seed) {
  ResAct& r = AsResAct(t);
  torch::NoGradGuard no_grad;
  Acted o;
  o.states = torch::randn({32, state_dim});
  t.context().generator.set_current_seed(seed);
  o.act = r.Act(o.states);
  t.context().generator.set_current_seed(seed);
  o.cand = r.Candidates(o.states, 10);
  return o;
}

// ---- Components ----

TEST(ResAct, RegisteredAndBuilt) {
  const PlantedProblem p = SmallProblem();
  auto t = MakeTrainer(p, p.Options("resact"));
  ResAct& r = AsResAct(*t);
  EXPECT_EQ(r.latent_dim(), 2 * p.options.action_dim);  // latent_dim 0 = 2·A.
  EXPECT_EQ(r.z_width(), 2 * 32);                        // z_h and z_l.
  std::vector<std::string> names;
  for (auto& [name, m] : r.Modules()) names.push_back(name);
  for (const std::string want : {"cvae", "cvae_target", "f_h", "f_l", "f_a", "classifier",
                                 "critic", "critic_target", "updates"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  // With s_l empty (session_dim = state_dim) there is no f_l.
  const PlantedProblem whole = SmallProblem(/*session_dim=*/8);
  auto u = MakeTrainer(whole, whole.Options("resact"));
  EXPECT_EQ(AsResAct(*u).z_width(), 32);
  ASSERT_TRUE(u->Run(4).ok());
  torch::NoGradGuard no_grad;
  EXPECT_EQ(u->algorithm().Act(torch::randn({5, 8})).sizes(), (std::vector<int64_t>{5, 4}));
}

TEST(ResAct, CandidatesAreNPerState) {
  const PlantedProblem p = SmallProblem();
  auto t = MakeTrainer(p, p.Options("resact"));
  ResAct& r = AsResAct(*t);
  torch::NoGradGuard no_grad;
  const torch::Tensor states = torch::randn({6, p.options.state_dim});
  for (int n : {1, 7, 10}) {
    const torch::Tensor c = r.Candidates(states, n);
    EXPECT_EQ(c.sizes(), (std::vector<int64_t>{6, n, p.options.action_dim})) << n;
    EXPECT_LE(c.abs().max().item<float>(), 1.f);
  }
  // Different latents give different candidates for one state.
  const torch::Tensor c = r.Candidates(states, 7);
  EXPECT_GT((c - c.select(1, 0).unsqueeze(1)).abs().max().item<float>(), 1e-4f);
  // Candidates come from the learner's generator: the same seed, the same ones.
  t->context().generator.set_current_seed(3);
  const torch::Tensor a = r.Candidates(states, 5);
  t->context().generator.set_current_seed(3);
  EXPECT_TRUE(torch::equal(a, r.Candidates(states, 5)));
}

TEST(ResAct, ResidualIsBoundedByPhiForAnyInput) {
  const PlantedProblem p = SmallProblem();
  for (double phi : {0.05, 0.3}) {
    LearnerOptions o = p.Options("resact");
    o.mutable_resact()->set_residual_bound(phi);
    auto t = MakeTrainer(p, o);
    ResAct& r = AsResAct(*t);
    ASSERT_TRUE(t->Run(20).ok());
    torch::NoGradGuard no_grad;
    const int A = p.options.action_dim;
    const torch::Tensor z = torch::randn({512, r.z_width()}) * 100;
    const torch::Tensor a = torch::rand({512, A}) * 2 - 1;
    const torch::Tensor delta = r.Residual(z, a);
    ASSERT_EQ(delta.sizes(), (std::vector<int64_t>{512, A}));
    const float max_abs = delta.abs().max().item<float>();
    EXPECT_LE(max_abs, phi + 1e-6) << phi;
    EXPECT_GT(max_abs, 0.5 * phi) << phi;  // Large inputs saturate tanh.
    // Improved candidates stay within φ of the candidate and inside [-1, 1].
    const torch::Tensor states = torch::randn({16, p.options.state_dim}) * 10;
    const torch::Tensor cand = r.Candidates(states, 10);
    const torch::Tensor better = r.Improve(states, cand);
    EXPECT_LE((better - cand).abs().max().item<float>(), phi + 1e-6);
    EXPECT_LE(better.abs().max().item<float>(), 1.f);
  }
}

TEST(ResAct, ConcisenessKlIsNonNegativeAndZeroAtThePrior) {
  const torch::Tensor zero = torch::zeros({4, 32});
  const torch::Tensor kl0 = ConcisenessKl(zero, zero);
  ASSERT_EQ(kl0.sizes(), (std::vector<int64_t>{4}));
  EXPECT_EQ(kl0.abs().max().item<float>(), 0.f);
  const torch::Tensor kl = ConcisenessKl(torch::randn({1000, 8}) * 3, torch::randn({1000, 8}) * 2);
  EXPECT_GE(kl.min().item<float>(), 0.f);
  // Closed form: mean 1, σ 1 → 0.5 per dimension; mean 0, log σ = log 2 →
  // 0.5·(4 − 1 − 2·log 2) per dimension.
  EXPECT_NEAR(ConcisenessKl(torch::ones({1, 3}), torch::zeros({1, 3})).item<float>(), 1.5, 1e-6);
  EXPECT_NEAR(ConcisenessKl(torch::zeros({1, 1}), torch::full({1, 1}, std::log(2.0))).item<float>(),
              0.5 * (3 - 2 * std::log(2.0)), 1e-6);
  // The session encoder's own output gives a finite, non-negative KL.
  const PlantedProblem p = SmallProblem();
  auto t = MakeTrainer(p, p.Options("resact"));
  torch::NoGradGuard no_grad;
  const auto code = AsResAct(*t).EncodeSession(torch::randn({64, p.options.state_dim}));
  EXPECT_EQ(code.mean.sizes(), (std::vector<int64_t>{64, 32}));
  EXPECT_GE(ConcisenessKl(code.mean, code.log_std).min().item<float>(), 0.f);
}

TEST(ResAct, ClassifierGivesSixLevelsThatNormalize) {
  const PlantedProblem p = SmallProblem();
  auto t = MakeTrainer(p, p.Options("resact"));
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = AsResAct(*t).ClassifierLogits(torch::randn({9, 32}) * 5);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{9, 6}));
  const torch::Tensor rows = torch::softmax(logits, 1).sum(1);
  EXPECT_LT((rows - 1).abs().max().item<float>(), 1e-6f);
}

// Act = the improved candidate with the highest Q1.
TEST(ResAct, SelectsTheCandidateWithTheHighestQ1) {
  const PlantedProblem p = SmallProblem();
  auto t = MakeTrainer(p, p.Options("resact"));
  ResAct& r = AsResAct(*t);
  ASSERT_TRUE(t->Run(100).ok());
  const auto [states, act, cand] = ActWithCandidates(*t, p.options.state_dim, 17);
  torch::NoGradGuard no_grad;
  const torch::Tensor better = r.Improve(states, cand);
  const torch::Tensor best = r.Score(states, better).argmax(1);
  for (int64_t i = 0; i < 32; ++i) {
    EXPECT_TRUE(torch::equal(act[i], better[i][best[i].item<int64_t>()])) << i;
  }
}

// ---- Ablation switches ----

TEST(ResAct, WithoutResidualActsWithAReconstructedCandidate) {
  const PlantedProblem p = SmallProblem();
  LearnerOptions o = p.Options("resact");
  o.mutable_resact()->set_use_residual(false);
  auto t = MakeTrainer(p, o);
  auto untrained = MakeTrainer(p, o);
  const auto m = Window(*t, 60);
  EXPECT_FALSE(m.count("exp_loss"));
  EXPECT_FALSE(m.count("con_kl"));
  EXPECT_TRUE(m.count("actor_loss"));  // The decoder still ascends Q1.
  // f and o are not trained; the decoder is.
  for (const std::string f : {"f_h", "f_l", "f_a", "classifier"}) {
    EXPECT_TRUE(Same(Weights(t->algorithm(), f), Weights(untrained->algorithm(), f))) << f;
  }
  EXPECT_FALSE(Same(Weights(t->algorithm(), "cvae"), Weights(untrained->algorithm(), "cvae")));

  const auto [states, act, cand] = ActWithCandidates(*t, p.options.state_dim, 5);
  for (int64_t i = 0; i < 32; ++i) {
    EXPECT_EQ(Nearest(cand[i], act[i]).second, 0.f) << "row " << i;
  }
}

TEST(ResAct, WithResidualActionsMoveOffTheCandidatesWithinPhi) {
  const PlantedProblem p = SmallProblem();
  auto t = MakeTrainer(p, p.Options("resact"));
  ASSERT_TRUE(t->Run(60).ok());
  const auto [states, act, cand] = ActWithCandidates(*t, p.options.state_dim, 5);
  int moved = 0;
  for (int64_t i = 0; i < 32; ++i) {
    const float d = Nearest(cand[i], act[i]).second;
    EXPECT_LE(d, 0.05f + 1e-6f);
    moved += d > 1e-4f;
  }
  EXPECT_GT(moved, 16);
}

// Trainers of `with` and of `without` (an ablation switch off), each trained
// `steps` steps: the metric `term` of the switched-off part is logged with it
// only, the metric `kept` of the other part still without it.
std::pair<std::unique_ptr<Trainer>, std::unique_ptr<Trainer>> TrainWithAndWithout(
    const PlantedProblem& p, const LearnerOptions& with, const LearnerOptions& without, int steps,
    const std::string& term, const std::string& kept) {
  auto a = MakeTrainer(p, with);
  auto b = MakeTrainer(p, without);
  const auto ma = Window(*a, steps);
  const auto mb = Window(*b, steps);
  EXPECT_TRUE(ma.count(term)) << term;
  EXPECT_FALSE(mb.count(term)) << term;
  EXPECT_TRUE(mb.count(kept)) << kept;
  return {std::move(a), std::move(b)};
}

TEST(ResAct, ExpressivenessSwitch) {
  const PlantedProblem p = SmallProblem();
  LearnerOptions on = p.Options("resact");
  LearnerOptions off = on;
  off.mutable_resact()->set_use_expressiveness(false);
  auto [a, b] = TrainWithAndWithout(p, on, off, 20, "exp_loss", "con_kl");
  auto init = MakeTrainer(p, off);
  EXPECT_FALSE(Same(Weights(a->algorithm(), "classifier"), Weights(init->algorithm(), "classifier")));
  EXPECT_TRUE(Same(Weights(b->algorithm(), "classifier"), Weights(init->algorithm(), "classifier")));
  // f_h is still trained by the policy gradient.
  EXPECT_FALSE(Same(Weights(b->algorithm(), "f_h"), Weights(init->algorithm(), "f_h")));
}

TEST(ResAct, ConcisenessSwitchAndEffect) {
  const PlantedProblem p = SmallProblem();
  LearnerOptions strong = p.Options("resact");
  strong.mutable_resact()->set_conciseness_weight(1.0);
  LearnerOptions off = strong;
  off.mutable_resact()->set_use_conciseness(false);
  auto [a, b] = TrainWithAndWithout(p, strong, off, 400, "con_kl", "exp_loss");
  // The KL of p(z_h | s_h) to N(0, I) on held-out states is pulled down.
  torch::NoGradGuard no_grad;
  const torch::Tensor states =
      torch::from_blob(const_cast<float*>(p.eval_states.data()),
                       {p.options.eval_states, p.options.state_dim}, torch::kFloat32);
  auto kl = [&](Trainer& t) {
    const auto code = AsResAct(t).EncodeSession(t.normalizer().Apply(states));
    return ConcisenessKl(code.mean, code.log_std).mean().item<double>();
  };
  EXPECT_LT(kl(*a), 0.5 * kl(*b)) << "with " << kl(*a) << ", without " << kl(*b);
}

// With session rewards that depend on s_h, the classifier learns them from
// z_h: the cross-entropy falls well below chance.
TEST(ResAct, ExpressivenessClassifierLearnsSessionRewards) {
  PlantedProblem p = SmallProblem();
  TransitionArrays arrays = p.source->arrays();
  const int S = arrays.state_dim;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const float x = arrays.state[i * S];  // A feature of s_h.
    arrays.r_sl[i] = std::clamp(std::floor((x + 1.5f) * 2.0f), 0.f, 5.f);
  }
  auto source = ArraySource::Create(std::move(arrays)).value();
  LearnerOptions o = p.Options("resact");
  o.set_task(LearnerOptions::SESSION_LENGTH);
  o.mutable_resact()->set_expressiveness_weight(1.0);
  auto t = Trainer::Create(o, source).value();
  const auto first = Window(*t, 40);
  Window(*t, 600);
  const auto last = Window(*t, 100);
  EXPECT_LT(last.at("exp_loss"), 0.6 * first.at("exp_loss"));
  EXPECT_LT(last.at("exp_loss"), 0.6 * std::log(6.0));
  EXPECT_GT(last.at("exp_accuracy"), 0.6);
}

// ---- The whole learner ----

TEST(ResAct, MovesTowardThePlantedOptimum) {
  const PlantedProblem p = MakePlantedProblem();
  auto t = MakeTrainer(p, p.Options("resact"));
  ExpectMovesTowardTheOptimum(p, *t, 0.35, 1.3);
  // The residual alone points toward the optimum: Δ on the selected actions'
  // candidates has a positive component along δ.
  ResAct& r = AsResAct(*t);
  torch::NoGradGuard no_grad;
  const torch::Tensor states = t->normalizer().Apply(
      torch::from_blob(const_cast<float*>(p.eval_states.data()),
                       {p.options.eval_states, p.options.state_dim}, torch::kFloat32));
  const torch::Tensor cand = r.Candidates(states, 10);
  const torch::Tensor delta = r.Improve(states, cand) - cand;
  const torch::Tensor dir = torch::tensor(p.delta) / std::sqrt(4 * 0.3 * 0.3);
  const double along = (delta * dir).sum(-1).mean().item<double>();
  EXPECT_GT(along, 0.05) << "mean residual along δ: " << along;
}

}  // namespace
}  // namespace learners
}  // namespace resact
