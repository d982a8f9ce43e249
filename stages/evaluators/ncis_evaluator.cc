// NcisEvaluator: off-policy evaluation of each policy snapshot on the test
// users' logged trajectories with importance sampling (method.md section 3):
// normalized capped importance sampling (NCIS, the paper's metric) and
// session-level weighted IS (WIS, session_wis.h), each per request and per
// session. The evaluated policy is π(a|s) = N(μ_π(s), σ² I), μ_π its action
// and σ the behaviour model's mean std; π_β is the fitted Gaussian behaviour
// model. When the log records true propensities (simulator logs) it also
// reports the estimates with those. Outputs: each estimate with its 95%
// bootstrap CI over trajectories, the effective sample size and the
// fraction of capped weights; NCIS's per-session figure is each
// trajectory's NCIS value times its requests per session.
//
// Metrics: ncis, ncis_per_session, wis, wis_per_session (each with _ci_low
// and _ci_high), ncis_ess, ncis_capped_fraction, wis_ess,
// wis_capped_fraction; the same with the true propensities (ncis_true...,
// wis_true...); logged_reward and logged_reward_per_session (π_β's own
// value); ncis_test_users.
//
// Example:
//   stage {
//     name: "ncis" type: "NcisEvaluator"
//     input_stream: "policies" output_stream: "ncis_metrics"
//     options { [type.googleapis.com/resact.NcisEvaluatorOptions] { cap: 10 } }
//   }
#include <cmath>
#include <filesystem>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/policy.h"
#include "graph/load_once.h"
#include "graph/registry.h"
#include "stages/evaluators/evaluator_options.pb.h"
#include "stages/evaluators/ncis.h"
#include "stages/evaluators/behaviour_model.h"
#include "stages/evaluators/session_wis.h"
#include "storage/replay_reader.h"

namespace resact {

class NcisEvaluator : public StageWithOptions<NcisEvaluatorOptions> {
 public:
  StreamContract Contract() const override {
    return {{PayloadType::kPolicy}, {PayloadType::kMetrics}, /*max_concurrency=*/0};
  }
  absl::Status Open(const StageContext& ctx) override {
    ctx_ = &ctx;
    return absl::OkStatus();
  }
  absl::Status Process(int, const Packet& packet, Emitter& out) override;

 protected:
  absl::Status Init() override {
    if (!(options_.cap() >= 1)) return absl::InvalidArgumentError("cap: must be >= 1");
    if (options_.sigma() < 0) return absl::InvalidArgumentError("sigma: must be >= 0");
    if (options_.bootstrap() < 1) return absl::InvalidArgumentError("bootstrap: must be >= 1");
    return absl::OkStatus();
  }

 private:
  absl::Status Load();
  std::string Resolve(const std::string& p) const {
    std::filesystem::path path(p);
    return (path.is_relative() ? std::filesystem::path(ctx_->workdir()) / path : path).string();
  }

  const StageContext* ctx_ = nullptr;
  LoadOnce load_;  // Load() on the first snapshot.
  std::unique_ptr<ReplayReader> test_;
  std::unique_ptr<BehaviourModel> behaviour_;
  double sigma_ = 1;
  uint64_t users_ = 0;                   // Test users evaluated.
  uint64_t transitions_ = 0;             // Their transitions: [0, transitions_).
  std::vector<double> logp_beta_;        // Fitted π_β at the logged action.
};

absl::Status NcisEvaluator::Load() {
  ReplayReaderOptions ro;
  ro.split = ReplaySplit::kTest;
  ro.memory_budget_bytes = static_cast<uint64_t>(options_.memory_budget_mb()) << 20;
  ASSIGN_OR_RETURN(test_, ReplayReader::Load(Resolve(options_.replay_dir()), ro));
  ASSIGN_OR_RETURN(behaviour_, BehaviourModel::Load(Resolve(options_.behaviour_path())));
  if (behaviour_->state_dim() != test_->state_dim() ||
      behaviour_->action_dim() != test_->action_dim()) {
    return absl::FailedPreconditionError("the behaviour model was fitted on another replay layout");
  }
  sigma_ = options_.sigma() > 0 ? options_.sigma() : behaviour_->mean_std();
  users_ = test_->num_users();
  if (options_.max_test_users() > 0) {
    users_ = std::min<uint64_t>(users_, options_.max_test_users());
  }
  transitions_ = users_ == 0 ? 0 : test_->user_transitions(users_ - 1).end;
  if (transitions_ == 0) {
    return absl::FailedPreconditionError("the replay's test split has no transitions");
  }
  logp_beta_.resize(transitions_);
  const int sd = test_->state_dim(), ad = test_->action_dim();
  std::vector<float> states, actions;
  for (uint64_t t0 = 0; t0 < transitions_; t0 += 8192) {
    const uint64_t n = std::min<uint64_t>(8192, transitions_ - t0);
    states.resize(n * sd);
    actions.resize(n * ad);
    for (uint64_t i = 0; i < n; ++i) {
      test_->FillState(t0 + i, states.data() + i * sd);
      std::copy(test_->action(t0 + i), test_->action(t0 + i) + ad, actions.data() + i * ad);
    }
    RETURN_IF_ERROR(behaviour_->LogProb(states.data(), actions.data(), n, logp_beta_.data() + t0));
  }
  LOG(INFO) << "[" << ctx_->stage_name() << "] " << users_ << " test trajectories, "
            << transitions_ << " transitions, σ_π = " << sigma_
            << (test_->has_behaviour_logprob() ? ", true propensities too" : "");
  return absl::OkStatus();
}

absl::Status NcisEvaluator::Process(int, const Packet& packet, Emitter& out) {
  const PolicySnapshot& snap = packet.Get<PolicySnapshot>();
  if (options_.final_only() && !snap.final) return absl::OkStatus();
  RETURN_IF_ERROR(load_.Ensure([&] { return Load(); }));
  const ReplayReader& r = *test_;
  const int sd = r.state_dim(), ad = r.action_dim();
  if (snap.policy->state_dim() != sd || snap.policy->action_dim() != ad) {
    return absl::FailedPreconditionError(absl::StrCat(
        "policy ", snap.algo, " has state/action dims ", snap.policy->state_dim(), "/",
        snap.policy->action_dim(), " but the replay has ", sd, "/", ad));
  }
  const TaskRewardWeights weights = RewardWeightsOf(snap.task);
  const float w_rt = static_cast<float>(weights.rt), w_sl = static_cast<float>(weights.sl);
  // A learning-curve point may use fewer users (curve_max_test_users).
  uint64_t users = users_;
  if (!snap.final && options_.curve_max_test_users() > 0) {
    users = std::min<uint64_t>(users, options_.curve_max_test_users());
  }
  const uint64_t transitions = r.user_transitions(users - 1).end;
  // log π(a_on | s) for every test transition, in chunks.
  std::vector<double> logp_pi(transitions);
  std::vector<float> states, mu;
  const double log_norm = -ad * (std::log(sigma_) + 0.5 * std::log(2 * M_PI));
  for (uint64_t t0 = 0; t0 < transitions; t0 += 8192) {
    const uint64_t n = std::min<uint64_t>(8192, transitions - t0);
    states.resize(n * sd);
    mu.resize(n * ad);
    for (uint64_t i = 0; i < n; ++i) r.FillState(t0 + i, states.data() + i * sd);
    RETURN_IF_ERROR(snap.policy->Act(states.data(), n, mu.data()));
    for (uint64_t i = 0; i < n; ++i) {
      const float* a = r.action(t0 + i);
      double q = 0;
      for (int c = 0; c < ad; ++c) {
        const double z = (a[c] - mu[i * ad + c]) / sigma_;
        q += z * z;
      }
      logp_pi[t0 + i] = log_norm - 0.5 * q;
    }
  }
  auto trajectories = [&](bool true_propensity) {
    std::vector<OpeTrajectory> ts(users);
    for (uint64_t u = 0; u < users; ++u) {
      const auto range = r.user_transitions(u);
      OpeTrajectory& t = ts[u];
      for (uint64_t i = range.begin; i < range.end; ++i) {
        t.logp_pi.push_back(logp_pi[i]);
        t.logp_beta.push_back(true_propensity ? r.behaviour_logprob(i) : logp_beta_[i]);
        t.reward.push_back(w_rt * r.r_rt(i) + w_sl * r.r_sl(i));
        t.session_end.push_back(r.last_in_session(i) ? 1 : 0);
      }
    }
    return ts;
  };
  NcisOptions no;
  no.cap = options_.cap();
  no.bootstrap = options_.bootstrap();
  no.seed = options_.seed();
  WisOptions wo;
  wo.cap = options_.cap();
  wo.horizon = options_.wis_horizon() == NcisEvaluatorOptions::TRAJECTORY
                   ? WeightHorizon::kTrajectory
                   : WeightHorizon::kSession;
  wo.bootstrap = options_.bootstrap();
  wo.seed = options_.seed();
  std::shared_ptr<MetricsBatch> m = MetricsForSnapshot(snap, "ncis");
  auto add_ci = [&](const std::string& name, double v, double lo, double hi) {
    m->Add(name, v);
    m->Add(name + "_ci_low", lo);
    m->Add(name + "_ci_high", hi);
  };
  // NCIS and WIS on both scales, with the fitted or the true propensities.
  auto estimate = [&](const std::string& suffix, const std::vector<OpeTrajectory>& ts) {
    std::vector<NcisTrajectory> nt(ts.size());
    for (size_t i = 0; i < ts.size(); ++i) nt[i] = {ts[i].logp_pi, ts[i].logp_beta, ts[i].reward};
    const NcisResult ncis = Ncis(nt, no);
    add_ci("ncis" + suffix, ncis.value, ncis.ci_low, ncis.ci_high);
    m->Add("ncis" + suffix + "_ess", ncis.ess);
    m->Add("ncis" + suffix + "_capped_fraction", ncis.capped_fraction);
    // Per session: each trajectory's value times its requests per session
    // (every test trajectory ends a session, so the two lists align).
    const std::vector<double> per_request = NcisPerTrajectory(nt, no, nullptr);
    const std::vector<double> rps = RequestsPerSession(ts);
    std::vector<TrajectoryValue> values(std::min(per_request.size(), rps.size()));
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = {per_request[i], per_request[i] * rps[i]};
    }
    const ScaledEstimate ps = SummarizeTrajectoryValues(values, no.bootstrap, 0.95, no.seed);
    add_ci("ncis" + suffix + "_per_session", ps.per_session, ps.per_session_ci_low,
           ps.per_session_ci_high);
    const ScaledEstimate wis = SessionWis(ts, wo);
    add_ci("wis" + suffix, wis.per_request, wis.per_request_ci_low, wis.per_request_ci_high);
    add_ci("wis" + suffix + "_per_session", wis.per_session, wis.per_session_ci_low,
           wis.per_session_ci_high);
    m->Add("wis" + suffix + "_ess", wis.ess);
    m->Add("wis" + suffix + "_capped_fraction", wis.capped_fraction);
  };
  const std::vector<OpeTrajectory> fitted = trajectories(false);
  estimate("", fitted);
  if (r.has_behaviour_logprob()) estimate("_true", trajectories(true));
  // The logged reward (the behaviour policy's own value), on both scales.
  std::vector<OpeTrajectory> logged = fitted;
  for (auto& t : logged) t.logp_pi = t.logp_beta;
  const ScaledEstimate own = SessionWis(logged, wo);
  m->Add("logged_reward", own.per_request);
  m->Add("logged_reward_per_session", own.per_session);
  m->Add("ncis_test_users", static_cast<double>(users));
  ctx_->progress().AddRows(1);
  return out.Emit(0, PayloadType::kMetrics, std::shared_ptr<const MetricsBatch>(m));
}

RESACT_REGISTER_STAGE(NcisEvaluator);

}  // namespace resact
