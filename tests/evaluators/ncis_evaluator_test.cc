// The NcisEvaluator stage on a small simulated log: the logged reward on
// both scales against sums over the test split's sessions, every estimate
// (NCIS, session WIS, each per request and per session, with the fitted and
// the true propensities) finite and inside its CI, and the WIS weight
// horizon changing WIS only; FQE and DR on the final snapshot, and the
// paired comparison with every estimator.

#include <cmath>
#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "graph/payload.h"
#include "graph/policy.h"
#include "graph/stage_runner.h"
#include "stages/evaluators/behaviour_model.h"
#include "stages/evaluators/off_policy_data.h"
#include "storage/replay_reader.h"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

// The tests' FQE budget (the stage's and ComparePolicies').
constexpr char kTestFqe[] = R"pb(fqe { steps: 150 hidden: "32,32" batch_size: 64 })pb";

// Acts with the fitted behaviour model's mean.
class BehaviourMeanPolicy : public Policy {
 public:
  explicit BehaviourMeanPolicy(const BehaviourModel& model) : model_(model) {}
  int state_dim() const override { return model_.state_dim(); }
  int action_dim() const override { return model_.action_dim(); }
  absl::Status Act(const float* states, int64_t n, float* actions) const override {
    return model_.Mean(states, n, actions);
  }

 private:
  const BehaviourModel& model_;
};

double Metric(const MetricsBatch& m, const std::string& name) {
  for (size_t i = 0; i < m.name.size(); ++i) {
    if (m.name[i] == name) return m.value[i];
  }
  ADD_FAILURE() << "no metric " << name;
  return NAN;
}

absl::StatusOr<MetricsBatch> Evaluate(const std::string& workdir, const std::string& options,
                                      std::shared_ptr<const Policy> policy) {
  ASSIGN_OR_RETURN(auto runner,
                   StageRunner::Create(absl::StrCat(R"pb(
    name: "ncis" type: "NcisEvaluator" input_stream: "p" output_stream: "m"
    options { [type.googleapis.com/resact.NcisEvaluatorOptions] { )pb",
                                                    kTestFqe, " ", options, " } }"),
                                       workdir));
  auto snap = std::make_shared<PolicySnapshot>();
  snap->algo = "behaviour_mean";
  snap->task = "return_time";
  snap->final = true;
  snap->policy = std::move(policy);
  RETURN_IF_ERROR(runner->Feed<PolicySnapshot>(0, snap));
  RETURN_IF_ERROR(runner->Close());
  auto out = runner->Outputs<MetricsBatch>(0);
  if (out.size() != 1) return absl::InternalError("expected one metrics batch");
  return *out[0];
}

// A small simulated log in `dir` with π_β fitted beside it (behaviour/model.pt).
absl::StatusOr<std::unique_ptr<BehaviourModel>> SimulatedLogWithBehaviour(const std::string& dir) {
  RETURN_IF_ERROR(
      testing_util::RunShippedSpec("recl_sim.pbtxt", {"simulate.sim.scale=0.003"}, dir).status());
  ReplayReaderOptions ro;
  ro.split = ReplaySplit::kTrain;
  ASSIGN_OR_RETURN(auto train, ReplayReader::Load(dir + "/replay", ro));
  BehaviourFitOptions fo;
  fo.hidden = "32";
  fo.steps = 200;
  ASSIGN_OR_RETURN(auto model, BehaviourModel::Fit(*train, fo));
  std::filesystem::create_directories(dir + "/behaviour");
  RETURN_IF_ERROR(model->Save(dir + "/behaviour/model.pt"));
  return model;
}

// Acts with a constant action.
class ConstantPolicy : public Policy {
 public:
  ConstantPolicy(int state_dim, std::vector<float> action)
      : state_dim_(state_dim), action_(std::move(action)) {}
  int state_dim() const override { return state_dim_; }
  int action_dim() const override { return static_cast<int>(action_.size()); }
  absl::Status Act(const float*, int64_t n, float* actions) const override {
    for (int64_t i = 0; i < n; ++i) std::copy(action_.begin(), action_.end(), actions + i * action_.size());
    return absl::OkStatus();
  }

 private:
  int state_dim_;
  std::vector<float> action_;
};

TEST(NcisEvaluator, LoggedRewardOnBothScalesAndEveryEstimateWithItsInterval) {
  testing_util::ScopedTempDir dir("ncis_evaluator");
  auto model = SimulatedLogWithBehaviour(dir.path());
  ASSERT_TRUE(model.ok()) << model.status();
  auto policy = std::make_shared<BehaviourMeanPolicy>(**model);
  ReplayReaderOptions ro;

  auto m = Evaluate(dir.path(), "", policy);
  ASSERT_TRUE(m.ok()) << m.status();

  // The reference: each test user's return-time reward per request and per
  // session, summed from the test split's sessions.
  ro.split = ReplaySplit::kTest;
  auto test = ReplayReader::Load(dir.path() + "/replay", ro);
  ASSERT_TRUE(test.ok());
  double per_request = 0, per_session = 0;
  const size_t users = (*test)->num_users();
  ASSERT_GT(users, 5u);
  for (size_t u = 0; u < users; ++u) {
    double sum = 0;
    const auto sessions = (*test)->user_sessions(u);
    for (size_t s = sessions.begin; s < sessions.end; ++s) sum += (*test)->session_r_rt(s);
    per_request += sum / (*test)->user_transitions(u).size() / users;
    per_session += sum / sessions.size() / users;
  }
  EXPECT_NEAR(Metric(*m, "logged_reward"), per_request, 1e-9);
  EXPECT_NEAR(Metric(*m, "logged_reward_per_session"), per_session, 1e-9);
  EXPECT_GT(per_session, 2 * per_request);  // Sessions have several requests.

  for (const char* name : {"ncis", "ncis_per_session", "wis", "wis_per_session", "ncis_true",
                           "ncis_true_per_session", "wis_true", "wis_true_per_session", "fqe",
                           "fqe_per_session", "dr", "dr_per_session", "dr_true",
                           "dr_true_per_session"}) {
    const std::string n = name;
    const double v = Metric(*m, n);
    EXPECT_TRUE(std::isfinite(v)) << n;
    EXPECT_LE(Metric(*m, n + "_ci_low"), v) << n;
    EXPECT_GE(Metric(*m, n + "_ci_high"), v) << n;
  }
  EXPECT_GT(Metric(*m, "wis_ess"), 1);
  EXPECT_GT(Metric(*m, "ncis_per_session"), Metric(*m, "ncis"));
  EXPECT_GT(Metric(*m, "fqe_seconds"), 0);
  EXPECT_TRUE(std::isfinite(Metric(*m, "fqe_loss")));
  // DR is FQE plus the weighted residuals: a different figure.
  EXPECT_NE(Metric(*m, "dr"), Metric(*m, "fqe"));

  // The trajectory horizon multiplies more ratios: WIS moves, NCIS does not.
  auto t = Evaluate(dir.path(), "wis_horizon: TRAJECTORY", policy);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Metric(*t, "ncis"), Metric(*m, "ncis"));
  EXPECT_NE(Metric(*t, "wis"), Metric(*m, "wis"));
}

// With the simulated world, the final snapshot is also estimated with the
// serve probabilities of the logged items; a world other than the log's is
// refused, naming both.
TEST(NcisEvaluator, ServeProbabilitiesOfTheLogsWorld) {
  testing_util::ScopedTempDir dir("ncis_serve");
  auto model = SimulatedLogWithBehaviour(dir.path());
  ASSERT_TRUE(model.ok()) << model.status();
  auto policy = std::make_shared<BehaviourMeanPolicy>(**model);
  auto m = Evaluate(dir.path(), "sim { seed: 1 dynamics: LONG_TERM } serve_draws: 32", policy);
  ASSERT_TRUE(m.ok()) << m.status();
  for (const char* name : {"ncis_serve", "ncis_serve_per_session", "wis_serve",
                           "wis_serve_per_session", "dr_serve", "dr_serve_per_session"}) {
    const std::string n = name;
    const double v = Metric(*m, n);
    EXPECT_TRUE(std::isfinite(v)) << n;
    EXPECT_LE(Metric(*m, n + "_ci_low"), v) << n;
    EXPECT_GE(Metric(*m, n + "_ci_high"), v) << n;
  }
  EXPECT_GT(Metric(*m, "serve_seconds"), 0);
  // The serve probabilities are other propensities than the densities.
  EXPECT_NE(Metric(*m, "wis_serve"), Metric(*m, "wis_true"));
  auto other = Evaluate(dir.path(), "sim { seed: 2 dynamics: LONG_TERM }", policy);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("seed"), std::string::npos) << other.status();
}

// The paired comparison: a policy against itself differs by exactly 0; two
// policies differ by the difference of their estimates on the same
// trajectories, as the stage reports them.
TEST(ComparePolicies, AgainstItselfZeroAndOtherwiseTheDifferenceOfTheEstimates) {
  testing_util::ScopedTempDir dir("compare_policies");
  auto model = SimulatedLogWithBehaviour(dir.path());
  ASSERT_TRUE(model.ok()) << model.status();
  auto champion = std::make_shared<BehaviourMeanPolicy>(**model);
  auto challenger = std::make_shared<ConstantPolicy>(
      (*model)->state_dim(), std::vector<float>((*model)->action_dim(), 0.1f));
  OffPolicyOptions options;
  options.fqe.set_steps(150);
  options.fqe.set_hidden("32,32");
  options.fqe.set_batch_size(64);
  auto data = OffPolicyData::Load(dir.path() + "/replay", dir.path() + "/behaviour/model.pt",
                                  options);
  ASSERT_TRUE(data.ok()) << data.status();
  for (OpeEstimator e :
       {OpeEstimator::kNcis, OpeEstimator::kWis, OpeEstimator::kFqe, OpeEstimator::kDr}) {
    for (OpeScale sc : {OpeScale::kPerRequest, OpeScale::kPerSession}) {
      auto same = ComparePolicies(**data, *champion, *champion, "return_time", e, sc);
      ASSERT_TRUE(same.ok()) << same.status();
      EXPECT_EQ(same->difference, 0);
      EXPECT_EQ(same->ci_low, 0);
      EXPECT_EQ(same->ci_high, 0);
      EXPECT_EQ(same->trajectories, static_cast<int64_t>((*data)->users()));
    }
  }
  auto a = Evaluate(dir.path(), "", champion);
  auto b = Evaluate(dir.path(), "", challenger);
  ASSERT_TRUE(a.ok() && b.ok());
  for (const auto& [e, sc, metric] :
       {std::tuple{OpeEstimator::kNcis, OpeScale::kPerRequest, "ncis"},
        std::tuple{OpeEstimator::kNcis, OpeScale::kPerSession, "ncis_per_session"},
        std::tuple{OpeEstimator::kWis, OpeScale::kPerRequest, "wis"},
        std::tuple{OpeEstimator::kWis, OpeScale::kPerSession, "wis_per_session"},
        std::tuple{OpeEstimator::kFqe, OpeScale::kPerRequest, "fqe"},
        std::tuple{OpeEstimator::kDr, OpeScale::kPerSession, "dr_per_session"}}) {
    auto d = ComparePolicies(**data, *champion, *challenger, "return_time", e, sc);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_NEAR(d->champion, Metric(*a, metric), 1e-9) << metric;
    EXPECT_NEAR(d->challenger, Metric(*b, metric), 1e-9) << metric;
    EXPECT_NEAR(d->difference, Metric(*b, metric) - Metric(*a, metric), 1e-9) << metric;
    EXPECT_LE(d->ci_low, d->difference);
    EXPECT_GE(d->ci_high, d->difference);
    EXPECT_LT(d->ci_low, d->ci_high) << metric;
  }
  // A policy of other dimensions is refused, naming both.
  ConstantPolicy wrong(3, {0.f, 0.f});
  auto refused = ComparePolicies(**data, *champion, wrong, "return_time", OpeEstimator::kWis,
                                 OpeScale::kPerSession);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("states of 3"), std::string::npos)
      << refused.status();
}

}  // namespace
}  // namespace resact
