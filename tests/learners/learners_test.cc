// The learner core, the Trainer and every algorithm (il, il_cvae, ddpg, td3,
// td3_bc, bcq, iql, resact) on synthetic in-memory transitions: building
// blocks, the batch contract, and per algorithm falling losses, determinism,
// exact checkpoint/resume, NaN stops, frozen snapshots and identical actions
// after save/load; then the planted-optimum problem (td3_bc moves toward the
// optimum, il stays at the behaviour action). bcq_test.cc, iql_test.cc and
// resact_test.cc hold what is specific to those three.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/nets/mlp.h"
#include "stages/learners/policy/torch_policy.h"
#include "stages/learners/training/optimizer.h"
#include "stages/learners/training/trainer.h"
#include "tests/learners/learner_test_util.h"
#include "tests/learners/planted_problem.h"
#include "tests/util/test_util.h"

namespace resact {
namespace learners {
namespace {

using learner_test::ExpectSameWeights;
using learner_test::MakePlantedProblem;
using learner_test::PlantedOutcome;
using learner_test::PlantedProblem;
using learner_test::SameWeights;
using learner_test::TrainOnPlanted;
using testing_util::ScopedTempDir;

// The metric lines of RUN_DIR/metrics.jsonl as name → value maps (numbers only).
std::vector<std::map<std::string, double>> ReadMetrics(const std::string& run_dir) {
  std::vector<std::map<std::string, double>> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    std::map<std::string, double> m;
    for (absl::string_view field : absl::StrSplit(absl::StripPrefix(absl::StripSuffix(line, "}"), "{"), ',')) {
      const size_t colon = field.find(':');
      if (colon == absl::string_view::npos || field.substr(colon + 1).front() == '"') continue;
      const std::string key(field.substr(1, colon - 2));
      m[key] = std::atof(std::string(field.substr(colon + 1)).c_str());
    }
    out.push_back(m);
  }
  return out;
}

PlantedProblem Planted(int transitions, int eval_states = 2000) {
  learner_test::PlantedOptions o;
  o.transitions = transitions;
  o.eval_states = eval_states;
  return MakePlantedProblem(o);
}

// ---- Building blocks ----

TEST(LearnerCore, ParseHidden) {
  EXPECT_EQ(ParseHidden("256,256").value(), (std::vector<int>{256, 256}));
  EXPECT_EQ(ParseHidden(" 64 ").value(), (std::vector<int>{64}));
  EXPECT_FALSE(ParseHidden("256,,256").ok());
  EXPECT_FALSE(ParseHidden("0").ok());
  EXPECT_FALSE(ParseHidden("wide").ok());
}

TEST(LearnerCore, CheckFiniteNamesAlgorithmStepAndMetric) {
  EXPECT_TRUE(CheckFinite("td3", 5, {{"critic_loss", 1.0}}).ok());
  const absl::Status s =
      CheckFinite("td3", 17, {{"critic_loss", 1.0}, {"actor_loss", std::nan("")}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("td3"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("step 17"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("actor_loss is NaN"), absl::string_view::npos) << s;
  const absl::Status inf =
      CheckFinite("il", 3, {{"bc_loss", std::numeric_limits<double>::infinity()}});
  EXPECT_NE(inf.message().find("bc_loss is Inf"), absl::string_view::npos) << inf;
}

TEST(LearnerCore, MlpShapeAndTanh) {
  torch::manual_seed(0);
  auto mlp = MakeMlp(5, {7, 3}, 2, /*tanh_out=*/true);
  EXPECT_EQ(mlp->size(), 6u);  // Linear ReLU Linear ReLU Linear Tanh
  const torch::Tensor y = mlp->forward(torch::randn({4, 5}) * 100);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{4, 2}));
  EXPECT_LE(y.abs().max().item<float>(), 1.f);
}

TEST(LearnerCore, SoftAndHardUpdate) {
  torch::manual_seed(0);
  auto a = MakeMlp(3, {4}, 1), b = MakeMlp(3, {4}, 1);
  const torch::Tensor b0 = b->parameters()[0].clone();
  const torch::Tensor a0 = a->parameters()[0].clone();
  SoftUpdate(*b, *a, 0.25);
  EXPECT_TRUE(torch::allclose(b->parameters()[0], 0.25 * a0 + 0.75 * b0, 1e-6, 1e-6));
  HardUpdate(*b, *a);
  for (size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
  }
}

// MakeAdam's fused step follows torch::optim::Adam: from the same weights and
// gradients, the same new weights and moments (to float rounding), step after
// step, and the same state layout, so checkpoints keep torch's format. The
// reference net is reset to the fused net's weights before every step, so
// rounding differences cannot compound.
TEST(LearnerCore, FusedAdamMatchesTorchAdam) {
  torch::manual_seed(3);
  auto fused_net = MakeMlp(5, {16, 16}, 3), torch_net = MakeMlp(5, {16, 16}, 3);
  auto fused = MakeAdam(*fused_net, 1e-2);
  torch::optim::Adam reference(torch_net->parameters(), torch::optim::AdamOptions(1e-2));
  const torch::Tensor x = torch::randn({64, 5});
  const torch::Tensor y = torch::randn({64, 3});
  double first_loss = 0, last_loss = 0;
  for (int step = 1; step <= 100; ++step) {
    HardUpdate(*torch_net, *fused_net);
    auto loss = torch::mse_loss(fused_net->forward(x), y);
    ZeroGrad(*fused);
    loss.backward();
    fused->step();
    auto reference_loss = torch::mse_loss(torch_net->forward(x), y);
    ZeroGrad(reference);
    reference_loss.backward();
    reference.step();
    if (step == 1) first_loss = loss.item<double>();
    last_loss = loss.item<double>();
    const auto fp = fused_net->parameters(), tp = torch_net->parameters();
    for (size_t i = 0; i < fp.size(); ++i) {
      ASSERT_TRUE(torch::allclose(fp[i], tp[i], 1e-5, 1e-6))
          << "step " << step << " parameter " << i << " max diff "
          << (fp[i] - tp[i]).abs().max().item<double>();
      const auto& fs = static_cast<torch::optim::AdamParamState&>(
          *fused->state().at(c10::guts::to_string(fp[i].unsafeGetTensorImpl())));
      const auto& ts = static_cast<torch::optim::AdamParamState&>(
          *reference.state().at(c10::guts::to_string(tp[i].unsafeGetTensorImpl())));
      ASSERT_EQ(fs.step(), step);
      ASSERT_EQ(fs.step(), ts.step());
      ASSERT_TRUE(torch::allclose(fs.exp_avg(), ts.exp_avg(), 1e-4, 1e-7)) << "step " << step;
      ASSERT_TRUE(torch::allclose(fs.exp_avg_sq(), ts.exp_avg_sq(), 1e-4, 1e-9))
          << "step " << step;
    }
  }
  EXPECT_LT(last_loss, 0.5 * first_loss);
}

TEST(LearnerCore, UnknownAlgorithmListsKnownOnes) {
  AlgoContext ctx;
  ctx.state_dim = 4;
  ctx.action_dim = 2;
  auto algo = CreateAlgorithm("no_such_algo", ctx);
  ASSERT_FALSE(algo.ok());
  EXPECT_EQ(algo.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(algo.status().message().find("td3_bc"), absl::string_view::npos) << algo.status();
  auto factory = [](AlgoContext& c) { return CreateAlgorithm("il", c).value(); };
  EXPECT_TRUE(RegisterAlgorithm("algorithm_test_twice", factory));
  EXPECT_FALSE(RegisterAlgorithm("algorithm_test_twice", factory));
  auto twice = CreateAlgorithm("algorithm_test_twice", ctx);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("registered more than once"), absl::string_view::npos);
}

TEST(LearnerCore, WeightsDependOnSeedOnly) {
  auto make = [](int64_t seed) {
    auto ctx = std::make_unique<AlgoContext>();
    ctx->state_dim = 6;
    ctx->action_dim = 2;
    ctx->options.mutable_common()->set_seed(seed);
    ctx->options.mutable_common()->set_hidden("8");
    auto algo = CreateAlgorithm("td3", *ctx).value();
    return std::make_pair(std::move(ctx), std::move(algo));
  };
  auto [c1, a1] = make(3);
  torch::randn({10});  // Global generator traffic in between changes nothing.
  auto [c2, a2] = make(3);
  auto [c3, a3] = make(4);
  ExpectSameWeights(*a1, *a2);
  EXPECT_FALSE(SameWeights(*a1, *a3));
}

// ---- The batch contract ----

TEST(LearnerBatch, RewardsLevelsAndNormalization) {
  ReplaySample s;
  s.size = 3;
  s.state_dim = 2;
  s.action_dim = 1;
  s.state = {1, 2, 3, 4, 5, 6};
  s.next_state = {0, 0, 1, 1, 2, 2};
  s.action = {0.5f, -2.f, 1.f};
  s.r_rt = {3, 0, 1};
  s.r_sl = {2, 0, 5};
  s.done = {0, 0, 1};
  const std::vector<uint8_t> ends = {1, 0, 1};
  const Normalizer norm({1.f, 2.f}, {2.f, 4.f});

  TensorBatch rt = MakeTensorBatch(s, ends, LearnerOptions::RETURN_TIME, 2.0, 5, norm);
  EXPECT_TRUE(torch::equal(rt.reward, torch::tensor({6.f, 0.f, 2.f}).view({3, 1})));
  EXPECT_TRUE(torch::equal(rt.r_session, torch::tensor({3, -1, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(rt.state, torch::tensor({0.f, 0.f, 1.f, 0.5f, 2.f, 1.f}).view({3, 2})));
  EXPECT_TRUE(torch::equal(rt.action, torch::tensor({0.5f, -1.f, 1.f}).view({3, 1})));
  EXPECT_TRUE(torch::equal(rt.done, torch::tensor({0.f, 0.f, 1.f}).view({3, 1})));

  TensorBatch sl = MakeTensorBatch(s, ends, LearnerOptions::SESSION_LENGTH, 1.0, 5, Normalizer());
  EXPECT_TRUE(torch::equal(sl.reward, torch::tensor({2.f, 0.f, 5.f}).view({3, 1})));
  EXPECT_TRUE(torch::equal(sl.r_session, torch::tensor({2, -1, 5}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(sl.state, torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).view({3, 2})));

  // BOTH: r = 0.5·(r_rt + r_sl); level round(2.5) = 3, round(3) = 3.
  TensorBatch both = MakeTensorBatch(s, ends, LearnerOptions::BOTH, 1.0, 5, Normalizer());
  EXPECT_TRUE(torch::equal(both.reward, torch::tensor({2.5f, 0.f, 3.f}).view({3, 1})));
  EXPECT_TRUE(torch::equal(both.r_session, torch::tensor({3, -1, 3}, torch::kInt64)));
}

TEST(LearnerBatch, NormalizerEstimatesMeanAndStd) {
  PlantedProblem p = MakePlantedProblem();
  const Normalizer n = Normalizer::Estimate(*p.source, 20000, 1);
  ASSERT_EQ(n.mean().size(), 8u);
  for (int k = 0; k < 8; ++k) {
    EXPECT_NEAR(n.mean()[k], 0.0, 0.05);
    EXPECT_NEAR(n.std()[k], 1.0, 0.05);
  }
}

// ---- Per algorithm ----

// The loss that must fall for each algorithm (each emits it every step):
// behaviour cloning's regression error, the CVAE's reconstruction error, or,
// for everything with critics (ddpg, td3, td3_bc, bcq, iql, resact), the twin
// or single critics' TD error, which on this one-step problem fits r exactly
// in the limit.
std::string MainLoss(const std::string& algo) {
  if (algo == "il") return "bc_loss";
  if (algo == "il_cvae") return "recon_loss";
  return "critic_loss";
}

// Losses besides MainLoss that must fall as far in LossFalls: the models of
// the logged actions in bcq (its behaviour CVAE), iql (the advantage-weighted
// regression of its actor) and resact (its candidate-generating CVAE). Their
// floor is set by the behaviour noise; with LossFalls' nearly deterministic
// logged actions it is low: each ends near 0.06 of its first window (seed 1).
std::vector<std::string> OtherFallingLosses(const std::string& algo) {
  if (algo == "bcq") return {"vae_loss"};
  if (algo == "iql") return {"actor_loss"};
  if (algo == "resact") return {"rec_loss"};
  return {};
}

class LearnerAlgo : public ::testing::TestWithParam<std::string> {};

TEST_P(LearnerAlgo, LossFalls) {
  const std::string algo = GetParam();
  ScopedTempDir tmp("learn_loss");
  // Nearly deterministic logged actions, so every loss can fall far.
  learner_test::PlantedOptions po;
  po.behaviour_noise = 0.05;
  PlantedProblem p = MakePlantedProblem(po);
  LearnerOptions o = p.Options(algo);
  o.set_eval_every(50);
  auto trainer = Trainer::Create(o, p.source, tmp / "run");
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  ASSERT_TRUE((*trainer)->Run(600).ok());
  const auto lines = ReadMetrics(tmp / "run");
  ASSERT_EQ(lines.size(), 12u);
  const std::string loss = MainLoss(algo);
  EXPECT_EQ(lines.front().at("step"), 50);
  EXPECT_EQ(lines.back().at("step"), 600);
  EXPECT_GT(lines.back().at("ms_step"), 0);
  std::vector<std::string> falling = OtherFallingLosses(algo);
  falling.insert(falling.begin(), loss);
  for (const std::string& name : falling) {
    ASSERT_TRUE(lines.front().count(name) && lines.back().count(name)) << name;
    const double first = lines.front().at(name), last = lines.back().at(name);
    RecordProperty(name + "_ratio", std::to_string(last / first));
    EXPECT_LT(last, 0.5 * first)
        << algo << " " << name << ": first window " << first << ", last " << last;
  }
  EXPECT_TRUE(std::filesystem::exists(tmp / "run/checkpoint-latest.pt"));
}

TEST_P(LearnerAlgo, DeterministicForASeed) {
  const std::string algo = GetParam();
  PlantedProblem p = MakePlantedProblem();
  const LearnerOptions o = p.Options(algo, /*seed=*/5);
  auto a = Trainer::Create(o, p.source).value();
  auto b = Trainer::Create(o, p.source).value();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(a->Step().ok());
    ASSERT_TRUE(b->Step().ok());
    ASSERT_EQ(a->last_metrics(), b->last_metrics()) << algo << " step " << i + 1;
  }
  ExpectSameWeights(a->algorithm(), b->algorithm());
  LearnerOptions other = o;
  other.mutable_common()->set_seed(6);
  auto c = Trainer::Create(other, p.source).value();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(c->Step().ok());
  EXPECT_FALSE(SameWeights(a->algorithm(), c->algorithm()));
}

TEST_P(LearnerAlgo, ResumeContinuesTheIdenticalTrajectory) {
  const std::string algo = GetParam();
  ScopedTempDir tmp("learn_resume");
  PlantedProblem p = MakePlantedProblem();
  LearnerOptions o = p.Options(algo, /*seed=*/2);
  o.set_eval_every(5);
  const int64_t k = 7;  // Odd: TD3's policy delay is mid-cycle at the checkpoint.

  auto straight = Trainer::Create(o, p.source, tmp / "straight").value();
  ASSERT_TRUE(straight->Run(2 * k).ok());

  {
    auto first = Trainer::Create(o, p.source, tmp / "resumed").value();
    EXPECT_FALSE(first->resumed());
    ASSERT_TRUE(first->Run(k).ok());  // Writes the checkpoint at the end.
  }
  auto second = Trainer::Create(o, p.source, tmp / "resumed").value();
  ASSERT_TRUE(second->resumed());
  ASSERT_EQ(second->step(), k);
  ASSERT_TRUE(second->Run(2 * k).ok());
  EXPECT_EQ(second->step(), 2 * k);
  ExpectSameWeights(straight->algorithm(), second->algorithm());
  EXPECT_EQ(straight->last_metrics(), second->last_metrics());
  EXPECT_EQ(straight->normalizer().mean(), second->normalizer().mean());

  // Metrics lines after the checkpoint were dropped on resume, then rewritten.
  const auto lines = ReadMetrics(tmp / "resumed");
  std::vector<double> steps;
  for (const auto& l : lines) steps.push_back(l.at("step"));
  EXPECT_EQ(steps, (std::vector<double>{5, 7, 10, 14}));

  // resume: false starts over.
  o.set_resume(false);
  auto fresh = Trainer::Create(o, p.source, tmp / "resumed").value();
  EXPECT_FALSE(fresh->resumed());
  EXPECT_EQ(fresh->step(), 0);
}

TEST_P(LearnerAlgo, NonFiniteStopsWithAlgorithmStepAndLoss) {
  const std::string algo = GetParam();
  PlantedProblem p = Planted(500);
  TransitionArrays t = p.source->arrays();
  const bool critic = MainLoss(algo) == "critic_loss";
  if (critic) {
    // A planted infinite reward on every transition.
    for (float& r : t.r_rt) r = std::numeric_limits<float>::infinity();
  } else {
    // Behaviour cloning ignores rewards: plant a NaN logged action instead.
    for (float& a : t.action) a = std::nanf("");
  }
  auto source = ArraySource::Create(std::move(t)).value();
  LearnerOptions o = p.Options(algo);
  auto trainer = Trainer::Create(o, source).value();
  const absl::Status s = trainer->Run(10);
  ASSERT_FALSE(s.ok()) << algo;
  EXPECT_NE(s.message().find(algo + ": step 1:"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find(critic ? "critic_loss is " : "loss is NaN"),
            absl::string_view::npos)
      << s;
  EXPECT_EQ(trainer->step(), 1);
}

TEST_P(LearnerAlgo, SnapshotIsFrozenThreadSafeAndBounded) {
  const std::string algo = GetParam();
  PlantedProblem p = Planted(20000, 300);
  auto trainer = Trainer::Create(p.Options(algo), p.source).value();
  ASSERT_TRUE(trainer->Run(20).ok());
  auto policy = trainer->Snapshot().value();
  EXPECT_EQ(policy->state_dim(), 8);
  EXPECT_EQ(policy->action_dim(), 4);
  const std::vector<float> before = p.Actions(*policy);
  ASSERT_EQ(before.size(), 300u * 4);
  for (float a : before) {
    EXPECT_GE(a, -1.f);
    EXPECT_LE(a, 1.f);
  }
  ASSERT_TRUE(trainer->Run(40).ok());  // Training on does not touch the snapshot.
  EXPECT_EQ(p.Actions(*policy), before);
  std::vector<std::vector<float>> got(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      for (int r = 0; r < 5; ++r) got[i] = p.Actions(*policy);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(got[0], before);
  EXPECT_EQ(got[1], before);
  // The snapshot acts like the trained algorithm on normalized states.
  auto later = trainer->Snapshot().value();
  EXPECT_NE(p.Actions(*later), before);
}

// Weights copied with SerializeModules/DeserializeModules into a learner of
// another seed make it identical, and it then acts identically on the same
// states: for the stochastic actors (bcq, resact decode sampled latents) once
// both draw from their context generators seeded alike. Raw Act output, before
// any clamping by a policy, lies in [-1, 1].
TEST_P(LearnerAlgo, SaveLoadGivesIdenticalActions) {
  const std::string algo = GetParam();
  const PlantedProblem p = Planted(5000, 500);
  auto t = Trainer::Create(p.Options(algo, /*seed=*/3), p.source).value();
  ASSERT_TRUE(t->Run(30).ok());
  auto u = Trainer::Create(p.Options(algo, /*seed=*/4), p.source).value();
  ASSERT_FALSE(SameWeights(t->algorithm(), u->algorithm()));
  ASSERT_TRUE(DeserializeModules(SerializeModules(t->algorithm()), u->algorithm()).ok());
  ExpectSameWeights(t->algorithm(), u->algorithm());
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

INSTANTIATE_TEST_SUITE_P(Algorithms, LearnerAlgo,
                         ::testing::Values("il", "il_cvae", "ddpg", "td3", "td3_bc", "bcq",
                                           "iql", "resact"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// ---- The planted optimum ----

TEST(LearnerPlanted, Td3BcMovesTowardTheOptimum) {
  const PlantedProblem p = MakePlantedProblem();
  const PlantedOutcome r = TrainOnPlanted(p, "td3_bc", 1500);
  // λ = α / mean|Q| ≈ 2.5 puts the optimum of the actor loss most of the way
  // from a_β to a_β + δ; the BC term keeps it from overshooting far.
  EXPECT_GT(r.shift, 0.4);
  EXPECT_LT(r.shift, 1.3);
  // Better than the behaviour action: at least half its regret removed.
  EXPECT_GT(r.mean_reward, p.BehaviourReward() + 0.5 * (1.0 - p.BehaviourReward()));
}

TEST(LearnerPlanted, Td3MovesTowardTheOptimum) {
  EXPECT_GT(TrainOnPlanted(MakePlantedProblem(), "td3", 1500).shift, 0.5);
}

// The imitation learners clone a_β: no shift, and within `max_distance` of
// it (the behaviour noise is σ·√A = 1).
void ExpectStaysAtTheBehaviourAction(const std::string& algo, double max_distance) {
  const PlantedOutcome r = TrainOnPlanted(MakePlantedProblem(), algo, 1500);
  EXPECT_LT(std::abs(r.shift), 0.1) << algo;
  EXPECT_LT(r.distance, max_distance) << algo;
}

TEST(LearnerPlanted, IlStaysAtTheBehaviourAction) { ExpectStaysAtTheBehaviourAction("il", 0.2); }

TEST(LearnerPlanted, IlCvaeStaysAtTheBehaviourAction) {
  ExpectStaysAtTheBehaviourAction("il_cvae", 0.25);
}

}  // namespace
}  // namespace learners
}  // namespace resact

