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
// trajectory's NCIS value times its requests per session. On the final
// snapshot it also fits FQE for the policy on the train split (fqe.h; option
// fqe, steps 0 turns it off) and reports FQE's value and the doubly robust
// estimate (doubly_robust.h); the learning curve's points use the
// importance-sampling estimators only.
//
// Metrics: ncis, ncis_per_session, wis, wis_per_session (each with _ci_low
// and _ci_high), ncis_ess, ncis_capped_fraction, wis_ess,
// wis_capped_fraction; the same with the true propensities (ncis_true...,
// wis_true...); logged_reward and logged_reward_per_session (π_β's own
// value); ncis_test_users; ncis_seconds (the importance-sampling estimates'
// wall time). Final snapshot with FQE: fqe, fqe_per_session, dr,
// dr_per_session (with CIs), dr_true and dr_true_per_session (DR with the
// true propensities, simulator logs), fqe_loss (the TD loss of its last
// tenth of steps), fqe_seconds (fitting and evaluating). Final snapshot on a
// simulator log with option sim: ncis_serve, wis_serve and dr_serve (each
// per request and per session, with CIs, ESS and capped fraction for the
// first two), the estimates with the serve probabilities of the logged items
// (sim_propensity.h), and serve_seconds.
//
// Example:
//   stage {
//     name: "ncis" type: "NcisEvaluator"
//     input_stream: "policies" output_stream: "ncis_metrics"
//     options { [type.googleapis.com/resact.NcisEvaluatorOptions] { cap: 10 } }
//   }
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/policy.h"
#include "graph/load_once.h"
#include "graph/registry.h"
#include "stages/evaluators/doubly_robust.h"
#include "stages/evaluators/evaluator_options.pb.h"
#include "stages/evaluators/fqe.h"
#include "stages/evaluators/statistics.h"
#include "stages/evaluators/off_policy_data.h"
#include "stages/evaluators/session_wis.h"

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
    return CheckFqeOptions(options_.fqe());
  }

 private:
  absl::Status Load();
  std::string Resolve(const std::string& p) const {
    std::filesystem::path path(p);
    return (path.is_relative() ? std::filesystem::path(ctx_->workdir()) / path : path).string();
  }

  const StageContext* ctx_ = nullptr;
  LoadOnce load_;  // Load() on the first snapshot.
  std::unique_ptr<OffPolicyData> data_;
};

absl::Status NcisEvaluator::Load() {
  OffPolicyOptions o;
  o.cap = options_.cap();
  o.sigma = options_.sigma();
  o.wis_horizon = options_.wis_horizon() == NcisEvaluatorOptions::TRAJECTORY
                      ? WeightHorizon::kTrajectory
                      : WeightHorizon::kSession;
  o.bootstrap = options_.bootstrap();
  o.seed = options_.seed();
  o.max_test_users = options_.max_test_users();
  o.memory_budget_bytes = static_cast<uint64_t>(options_.memory_budget_mb()) << 20;
  o.fqe = options_.fqe();
  o.has_sim = options_.has_sim();
  o.sim = options_.sim();
  o.serve_draws = options_.serve_draws();
  ASSIGN_OR_RETURN(data_, OffPolicyData::Load(Resolve(options_.replay_dir()),
                                              Resolve(options_.behaviour_path()), o));
  LOG(INFO) << "[" << ctx_->stage_name() << "] " << data_->users() << " test trajectories, "
            << data_->transitions() << " transitions, σ_π = " << data_->sigma()
            << (data_->has_true_propensity() ? ", true propensities too" : "")
            << (data_->has_serve_propensity()
                    ? absl::StrCat(", serve probabilities (", options_.serve_draws(), " draws)")
                    : "");
  return absl::OkStatus();
}

absl::Status NcisEvaluator::Process(int, const Packet& packet, Emitter& out) {
  const PolicySnapshot& snap = packet.Get<PolicySnapshot>();
  if (options_.final_only() && !snap.final) return absl::OkStatus();
  RETURN_IF_ERROR(load_.Ensure([&] { return Load(); }));
  // A learning-curve point may use fewer users (curve_max_test_users).
  uint64_t users = data_->users();
  if (!snap.final && options_.curve_max_test_users() > 0) {
    users = std::min<uint64_t>(users, options_.curve_max_test_users());
  }
  const OffPolicyOptions& o = data_->options();
  const WisOptions wo = WisOptionsOf(o);
  std::shared_ptr<MetricsBatch> m = MetricsForSnapshot(snap, "ncis");
  auto add_ci = [&](const std::string& name, double v, double lo, double hi) {
    m->Add(name, v);
    m->Add(name + "_ci_low", lo);
    m->Add(name + "_ci_high", hi);
  };
  // NCIS and WIS on both scales, with the fitted or the true propensities.
  auto estimate = [&](const std::string& suffix, const std::vector<OpeTrajectory>& ts) {
    // NCIS per request and per session (each trajectory's value times its
    // requests per session), from one pass over the weights.
    std::vector<double> weights;
    const ScaledEstimate ncis =
        SummarizeTrajectoryValues(NcisValues(ts, o, &weights), o.bootstrap, 0.95, o.seed);
    double ess, capped_fraction;
    WeightStatistics(weights, o.cap, &ess, &capped_fraction);
    add_ci("ncis" + suffix, ncis.per_request, ncis.per_request_ci_low, ncis.per_request_ci_high);
    m->Add("ncis" + suffix + "_ess", ess);
    m->Add("ncis" + suffix + "_capped_fraction", capped_fraction);
    add_ci("ncis" + suffix + "_per_session", ncis.per_session, ncis.per_session_ci_low,
           ncis.per_session_ci_high);
    const ScaledEstimate wis = SessionWis(ts, wo);
    add_ci("wis" + suffix, wis.per_request, wis.per_request_ci_low, wis.per_request_ci_high);
    add_ci("wis" + suffix + "_per_session", wis.per_session, wis.per_session_ci_low,
           wis.per_session_ci_high);
    m->Add("wis" + suffix + "_ess", wis.ess);
    m->Add("wis" + suffix + "_capped_fraction", wis.capped_fraction);
  };
  // The policy acts on every test state once; both propensities and the
  // model reuse it.
  const auto start = std::chrono::steady_clock::now();
  const bool fqe = snap.final && options_.fqe().steps() > 0;
  const bool serve = snap.final && data_->has_serve_propensity();
  std::vector<float> actions;
  auto fitted =
      data_->Trajectories(*snap.policy, snap.task, users, fqe || serve ? &actions : nullptr);
  if (!fitted.ok()) return Annotate(fitted.status(), absl::StrCat("policy ", snap.algo));
  estimate("", *fitted);
  std::vector<OpeTrajectory> with_true;
  if (data_->has_true_propensity()) {
    ASSIGN_OR_RETURN(with_true, data_->WithTruePropensity(*fitted));
    estimate("_true", with_true);
  }
  m->Add("ncis_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  std::vector<OpeTrajectory> with_serve;
  if (serve) {
    const auto serve_start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(with_serve, data_->WithServePropensity(*fitted, actions));
    estimate("_serve", with_serve);
    m->Add("serve_seconds",
           std::chrono::duration<double>(std::chrono::steady_clock::now() - serve_start).count());
  }
  if (fqe) {
    const auto fqe_start = std::chrono::steady_clock::now();
    auto model = data_->FitFqe(*snap.policy, snap.task);
    if (!model.ok()) return Annotate(model.status(), absl::StrCat("FQE of policy ", snap.algo));
    RETURN_IF_ERROR(data_->AttachModel(**model, actions, &*fitted));
    const double gamma = (*model)->gamma();
    auto add_scaled = [&](const std::string& name, const std::vector<TrajectoryValue>& values) {
      const ScaledEstimate e = SummarizeTrajectoryValues(values, o.bootstrap, 0.95, o.seed);
      add_ci(name, e.per_request, e.per_request_ci_low, e.per_request_ci_high);
      add_ci(name + "_per_session", e.per_session, e.per_session_ci_low, e.per_session_ci_high);
    };
    add_scaled("fqe", FqePerTrajectory(*fitted, gamma));
    add_scaled("dr", DrPerTrajectory(*fitted, gamma, wo));
    // DR with the other propensities: the same model values.
    for (auto& [name, ts] : {std::pair{"dr_true", &with_true}, std::pair{"dr_serve", &with_serve}}) {
      if (ts->empty()) continue;
      for (size_t u = 0; u < ts->size(); ++u) {
        (*ts)[u].q_logged = (*fitted)[u].q_logged;
        (*ts)[u].v_pi = (*fitted)[u].v_pi;
      }
      add_scaled(name, DrPerTrajectory(*ts, gamma, wo));
    }
    m->Add("fqe_loss", (*model)->final_loss());
    m->Add("fqe_seconds",
           std::chrono::duration<double>(std::chrono::steady_clock::now() - fqe_start).count());
  }
  // The logged reward (the behaviour policy's own value), on both scales.
  const ScaledEstimate own = SessionWis(data_->Logged(snap.task, users), wo);
  m->Add("logged_reward", own.per_request);
  m->Add("logged_reward_per_session", own.per_session);
  m->Add("ncis_test_users", static_cast<double>(users));
  ctx_->progress().AddRows(1);
  return out.Emit(0, PayloadType::kMetrics, std::shared_ptr<const MetricsBatch>(m));
}

RESACT_REGISTER_STAGE(NcisEvaluator);

}  // namespace resact
