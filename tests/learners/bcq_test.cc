// bcq on the planted-optimum problem (tests/learners/planted_problem.h):
// bounded perturbations, and a policy that moves from the behaviour action
// toward the planted optimum. Falling losses, determinism for a seed, exact
// checkpoint/resume and identical actions after save/load are checked for
// every algorithm by the LearnerAlgo suite in learners_test.cc.
#include <string>

#include "gtest/gtest.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/policy/torch_policy.h"
#include "stages/learners/training/trainer.h"
#include "tests/learners/learner_test_util.h"
#include "tests/learners/planted_problem.h"

namespace resact {
namespace learners {
namespace {

using learner_test::ExpectMovesTowardTheOptimum;
using learner_test::PlantedProblem;
using learner_test::SmallProblem;

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
  auto t = learner_test::MakeTrainer(p, o);
  ASSERT_TRUE(t->Run(50).ok());
  auto z = learner_test::MakeTrainer(p, zero);
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

TEST(Bcq, MovesTowardThePlantedOptimum) { ExpectMovesTowardTheOptimum("bcq", 0.3, 1.3); }

}  // namespace
}  // namespace learners
}  // namespace resact
