// The algorithm registry as the one source of algorithm and task names, the
// one check of learner options (CheckLearnerOptions) and its error texts, and
// the checkpoint names of the algorithms built on CriticEnsemble through
// autograd (bcq, iql), which must not change.
#include "stages/learners/algorithms/algorithm.h"

#include <string>
#include <vector>

#include "cli/bench_train.h"
#include "gtest/gtest.h"
#include "stages/learners/training/trainer.h"
#include "tests/learners/learner_test_util.h"

namespace resact {
namespace learners {
namespace {

TEST(AlgorithmRegistry, NamesInTheExperimentsDisplayOrder) {
  EXPECT_EQ(AlgorithmNames(), (std::vector<std::string>{"resact", "ddpg", "td3", "td3_bc", "bcq",
                                                        "iql", "il", "il_cvae"}));
}

TEST(AlgorithmRegistry, TaskNames) {
  EXPECT_EQ(TaskName(LearnerOptions::RETURN_TIME), "return_time");
  EXPECT_EQ(TaskName(LearnerOptions::SESSION_LENGTH), "session_length");
  EXPECT_EQ(TaskName(LearnerOptions::BOTH), "both");
  EXPECT_EQ(TaskName(static_cast<LearnerOptions::Task>(17)), "return_time");
}

LearnerOptions Valid() {
  LearnerOptions o;
  o.set_algo("td3_bc");
  return o;
}

TEST(CheckLearnerOptions, NamesTheOption) {
  EXPECT_TRUE(CheckLearnerOptions(Valid()).ok());
  struct Case {
    void (*set)(LearnerOptions*);
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](LearnerOptions* o) { o->clear_algo(); }, "option 'algo': required (e.g. \"td3_bc\")"},
      {[](LearnerOptions* o) { o->set_steps(-1); }, "option 'steps': must be >= 0"},
      {[](LearnerOptions* o) { o->set_eval_every(0); }, "option 'eval_every': must be > 0"},
      {[](LearnerOptions* o) { o->set_checkpoint_every(-1); },
       "option 'checkpoint_every': must be >= 0"},
      {[](LearnerOptions* o) { o->mutable_common()->set_batch_size(0); },
       "option 'common.batch_size': must be > 0"},
      {[](LearnerOptions* o) { o->mutable_common()->set_tau(0); },
       "option 'common.tau': must be in (0, 1]"},
      {[](LearnerOptions* o) { o->mutable_resact()->set_candidate_std(-1); },
       "option 'resact.candidate_std': must be >= 0"},
  };
  for (const Case& c : cases) {
    LearnerOptions o = Valid();
    c.set(&o);
    const absl::Status s = CheckLearnerOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(s.message(), c.message);
  }
  LearnerOptions unknown = Valid();
  unknown.set_algo("nope");
  EXPECT_EQ(CheckLearnerOptions(unknown).message(),
            "option 'algo': unknown algorithm 'nope'; known: bcq, ddpg, il, il_cvae, iql, "
            "resact, td3, td3_bc");
}

// `resact bench train` checks its learner options with the same function.
TEST(CheckLearnerOptions, BenchTrainGivesTheSameError) {
  BenchTrainOptions b;
  b.algo = "nope";
  b.steps = 2;
  b.transitions = 100;
  LearnerOptions o = Valid();
  o.set_algo("nope");
  const absl::Status s = BenchTrain(b).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), CheckLearnerOptions(o).message());
}

// bcq and iql keep their critics under their own names in checkpoints and
// model files.
TEST(CriticEnsembleAlgorithms, KeepTheirModuleNames) {
  struct Case {
    std::string algo;
    std::vector<std::string> modules, optimizers;
  };
  const std::vector<Case> cases = {
      {"bcq",
       {"vae", "actor", "actor_target", "q1", "q2", "q1_target", "q2_target"},
       {"vae", "actor", "critic"}},
      {"iql", {"actor", "value", "q1", "q2", "q1_target", "q2_target"}, {"actor", "value", "critic"}},
  };
  const learner_test::PlantedProblem p = learner_test::SmallProblem();
  for (const Case& c : cases) {
    auto t = learner_test::MakeTrainer(p, p.Options(c.algo));
    ASSERT_NE(t, nullptr);
    std::vector<std::string> modules, optimizers;
    for (auto& [name, m] : t->algorithm().Modules()) modules.push_back(name);
    for (auto& [name, m] : t->algorithm().Optimizers()) optimizers.push_back(name);
    EXPECT_EQ(modules, c.modules) << c.algo;
    EXPECT_EQ(optimizers, c.optimizers) << c.algo;
  }
}

}  // namespace
}  // namespace learners
}  // namespace resact
