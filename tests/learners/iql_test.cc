// iql on the planted-optimum problem (tests/learners/planted_problem.h): the
// expectile value sitting above the mean, and a policy that moves from the
// behaviour action toward the planted optimum. Falling losses, determinism
// for a seed, exact checkpoint/resume and identical actions after save/load
// are checked for every algorithm by the LearnerAlgo suite in
// learners_test.cc.
#include <map>
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
using learner_test::MakeTrainer;
using learner_test::PlantedProblem;
using learner_test::SmallProblem;
using learner_test::Window;

// V regresses the 0.7-expectile of Q over logged actions, so it sits above
// the mean Q (advantages average below 0), and with expectile 0.5 (the mean)
// it is lower than with 0.9.
TEST(Iql, ExpectileValueSitsAboveTheMean) {
  const PlantedProblem p = SmallProblem();
  std::map<double, double> v_mean;
  for (double tau : {0.5, 0.9}) {
    LearnerOptions o = p.Options("iql");
    o.mutable_iql()->set_expectile(tau);
    auto t = MakeTrainer(p, o);
    Window(*t, 600);
    const auto last = Window(*t, 100);
    v_mean[tau] = last.at("v_mean");
    if (tau == 0.9) EXPECT_LT(last.at("adv_mean"), 0.0);
  }
  EXPECT_GT(v_mean[0.9], v_mean[0.5] + 0.05);
}

// The weights exp(3·A) ∝ exp(−3·||a − (a_β + δ)||²) on N(a_β, 0.5²) logged
// actions make the regression target a Gaussian of precision 4 + 6 per
// dimension centred 6/10 of the way to a_β + δ (less a little for clipping).
TEST(Iql, MovesTowardThePlantedOptimum) { ExpectMovesTowardTheOptimum("iql", 0.4, 0.75); }

}  // namespace
}  // namespace learners
}  // namespace resact
