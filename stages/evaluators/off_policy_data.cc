#include "stages/evaluators/off_policy_data.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "graph/status.h"
#include "stages/evaluators/behaviour_model.h"
#include "stages/evaluators/doubly_robust.h"
#include "stages/evaluators/fqe.h"
#include "stages/learners/training/transition_source.h"
#include "stages/sim/sim_propensity.h"
#include "stages/sim/sim_world.h"
#include "storage/replay_reader.h"

namespace resact {

OffPolicyData::~OffPolicyData() = default;

bool OffPolicyData::has_true_propensity() const { return test_->has_behaviour_logprob(); }

absl::StatusOr<std::unique_ptr<OffPolicyData>> OffPolicyData::Load(
    const std::string& replay_dir, const std::string& behaviour_path,
    const OffPolicyOptions& options) {
  std::unique_ptr<OffPolicyData> d(new OffPolicyData());
  d->options_ = options;
  d->replay_dir_ = replay_dir;
  ReplayReaderOptions ro;
  ro.split = ReplaySplit::kTest;
  ro.memory_budget_bytes = options.memory_budget_bytes;
  ro.min_session_start_ms = options.min_session_start_ms;
  ASSIGN_OR_RETURN(d->test_, ReplayReader::Load(replay_dir, ro));
  ASSIGN_OR_RETURN(d->behaviour_, BehaviourModel::Load(behaviour_path));
  const ReplayReader& r = *d->test_;
  if (d->behaviour_->state_dim() != r.state_dim() ||
      d->behaviour_->action_dim() != r.action_dim()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the behaviour model ", behaviour_path, " takes states of ", d->behaviour_->state_dim(),
        " and actions of ", d->behaviour_->action_dim(), " floats, but the replay ", replay_dir,
        " has ", r.state_dim(), " and ", r.action_dim(), ": it was fitted on another replay"));
  }
  d->sigma_ = options.sigma > 0 ? options.sigma : d->behaviour_->mean_std();
  d->users_ = r.num_users();
  if (options.max_test_users > 0) {
    d->users_ = std::min<uint64_t>(d->users_, options.max_test_users);
  }
  d->transitions_ = d->TransitionsOf(d->users_);
  if (d->transitions_ == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the replay ", replay_dir, " has no test transitions"));
  }
  if (options.has_sim && options.serve_draws > 0) {
    RETURN_IF_ERROR(CheckSimulatedWith(r.meta().source_description(), options.sim, replay_dir));
    ASSIGN_OR_RETURN(d->serve_,
                     ServePropensities::Create(options.sim, r, d->users_, options.serve_draws));
  }
  d->logp_beta_.resize(d->transitions_);
  const int sd = r.state_dim(), ad = r.action_dim();
  std::vector<float> states, actions;
  for (uint64_t t0 = 0; t0 < d->transitions_; t0 += 8192) {
    const uint64_t n = std::min<uint64_t>(8192, d->transitions_ - t0);
    states.resize(n * sd);
    actions.resize(n * ad);
    for (uint64_t i = 0; i < n; ++i) {
      r.FillState(t0 + i, states.data() + i * sd);
      std::copy(r.action(t0 + i), r.action(t0 + i) + ad, actions.data() + i * ad);
    }
    RETURN_IF_ERROR(
        d->behaviour_->LogProb(states.data(), actions.data(), n, d->logp_beta_.data() + t0));
  }
  return d;
}

uint64_t OffPolicyData::TransitionsOf(uint64_t users) const {
  return users == 0 ? 0 : test_->user_transitions(users - 1).end;
}

void OffPolicyData::Scatter(const std::vector<double>& per_transition,
                            std::vector<double> OpeTrajectory::*field,
                            std::vector<OpeTrajectory>* trajectories) const {
  for (size_t u = 0; u < trajectories->size(); ++u) {
    const auto range = test_->user_transitions(u);
    ((*trajectories)[u].*field)
        .assign(per_transition.begin() + range.begin, per_transition.begin() + range.end);
  }
}

absl::StatusOr<std::vector<OpeTrajectory>> OffPolicyData::Trajectories(
    const Policy& policy, const std::string& task, uint64_t users,
    std::vector<float>* actions) const {
  const ReplayReader& r = *test_;
  const int sd = r.state_dim(), ad = r.action_dim();
  if (policy.state_dim() != sd || policy.action_dim() != ad) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the policy takes states of ", policy.state_dim(), " and gives actions of ",
        policy.action_dim(), " floats, but the replay has ", sd, " and ", ad));
  }
  users = std::min(users, users_);
  const uint64_t transitions = TransitionsOf(users);
  // log π(a_on | s) for every test transition, in chunks.
  std::vector<double> logp_pi(transitions);
  std::vector<float> states, mu;
  if (actions != nullptr) actions->resize(transitions * ad);
  const double log_norm = -ad * (std::log(sigma_) + 0.5 * std::log(2 * M_PI));
  for (uint64_t t0 = 0; t0 < transitions; t0 += 8192) {
    const uint64_t n = std::min<uint64_t>(8192, transitions - t0);
    states.resize(n * sd);
    mu.resize(n * ad);
    for (uint64_t i = 0; i < n; ++i) r.FillState(t0 + i, states.data() + i * sd);
    RETURN_IF_ERROR(policy.Act(states.data(), n, mu.data()));
    if (actions != nullptr) std::copy(mu.begin(), mu.end(), actions->begin() + t0 * ad);
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
  std::vector<OpeTrajectory> ts = Logged(task, users);
  Scatter(logp_pi, &OpeTrajectory::logp_pi, &ts);
  return ts;
}

absl::StatusOr<std::unique_ptr<FqeModel>> OffPolicyData::FitFqe(const Policy& policy,
                                                                const std::string& task) const {
  RETURN_IF_ERROR(train_once_.Ensure([&]() -> absl::Status {
    ASSIGN_OR_RETURN(train_, learners::LoadReplaySource(replay_dir_,
                                                        options_.fqe.memory_budget_mb()));
    return absl::OkStatus();
  }));
  return FqeModel::Fit(*train_, policy, task, options_.fqe);
}

absl::Status OffPolicyData::AttachModel(const FqeModel& model, const std::vector<float>& actions,
                                        std::vector<OpeTrajectory>* trajectories) const {
  const ReplayReader& r = *test_;
  const int sd = r.state_dim(), ad = r.action_dim();
  const uint64_t users = trajectories->size();
  const uint64_t transitions = TransitionsOf(users);
  if (users > users_ || actions.size() != transitions * ad) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AttachModel: ", users, " trajectories (", transitions, " transitions) but actions for ",
        actions.size() / std::max(ad, 1), " states"));
  }
  std::vector<double> q_logged(transitions), v_pi(transitions);
  std::vector<float> states, logged;
  for (uint64_t t0 = 0; t0 < transitions; t0 += 8192) {
    const uint64_t n = std::min<uint64_t>(8192, transitions - t0);
    states.resize(n * sd);
    logged.resize(n * ad);
    for (uint64_t i = 0; i < n; ++i) {
      r.FillState(t0 + i, states.data() + i * sd);
      std::copy(r.action(t0 + i), r.action(t0 + i) + ad, logged.data() + i * ad);
    }
    RETURN_IF_ERROR(model.Q(states.data(), logged.data(), n, q_logged.data() + t0));
    RETURN_IF_ERROR(model.Q(states.data(), actions.data() + t0 * ad, n, v_pi.data() + t0));
  }
  Scatter(q_logged, &OpeTrajectory::q_logged, trajectories);
  Scatter(v_pi, &OpeTrajectory::v_pi, trajectories);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OpeTrajectory>> OffPolicyData::WithTruePropensity(
    std::vector<OpeTrajectory> trajectories) const {
  if (!has_true_propensity()) {
    return absl::FailedPreconditionError("the log records no behaviour propensities");
  }
  const ReplayReader& r = *test_;
  for (size_t u = 0; u < trajectories.size(); ++u) {
    OpeTrajectory& t = trajectories[u];
    const uint64_t begin = r.user_transitions(u).begin;
    for (size_t k = 0; k < t.logp_beta.size(); ++k) t.logp_beta[k] = r.behaviour_logprob(begin + k);
  }
  return trajectories;
}

absl::StatusOr<std::vector<OpeTrajectory>> OffPolicyData::WithServePropensity(
    std::vector<OpeTrajectory> trajectories, const std::vector<float>& actions) const {
  if (serve_ == nullptr) {
    return absl::FailedPreconditionError(
        "serve probabilities need the simulated world (a simulator log, option sim) and "
        "serve_draws > 0");
  }
  const ReplayReader& r = *test_;
  const uint64_t transitions = TransitionsOf(trajectories.size());
  if (actions.size() != transitions * r.action_dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WithServePropensity: ", transitions, " transitions but ",
        actions.size() / std::max(r.action_dim(), 1), " actions"));
  }
  ASSIGN_OR_RETURN(const std::vector<double> logp_pi,
                   serve_->PolicyLogProb(actions.data(), transitions, sigma_));
  Scatter(logp_pi, &OpeTrajectory::logp_pi, &trajectories);
  Scatter(serve_->behaviour_logp(), &OpeTrajectory::logp_beta, &trajectories);
  return trajectories;
}

std::vector<OpeTrajectory> OffPolicyData::Logged(const std::string& task, uint64_t users) const {
  const ReplayReader& r = *test_;
  const TaskRewardWeights w = RewardWeightsOf(task);
  users = std::min(users, users_);
  std::vector<OpeTrajectory> ts(users);
  for (uint64_t u = 0; u < users; ++u) {
    const auto range = r.user_transitions(u);
    OpeTrajectory& t = ts[u];
    for (uint64_t i = range.begin; i < range.end; ++i) {
      t.logp_beta.push_back(logp_beta_[i]);
      t.reward.push_back(w.rt * r.r_rt(i) + w.sl * r.r_sl(i));
      t.session_end.push_back(r.last_in_session(i) ? 1 : 0);
    }
    t.logp_pi = t.logp_beta;
  }
  return ts;
}

NcisOptions NcisOptionsOf(const OffPolicyOptions& options) {
  NcisOptions no;
  no.cap = options.cap;
  no.bootstrap = options.bootstrap;
  no.seed = options.seed;
  return no;
}

WisOptions WisOptionsOf(const OffPolicyOptions& options) {
  WisOptions wo;
  wo.cap = options.cap;
  wo.horizon = options.wis_horizon;
  wo.bootstrap = options.bootstrap;
  wo.seed = options.seed;
  return wo;
}

std::vector<TrajectoryValue> NcisValues(const std::vector<OpeTrajectory>& trajectories,
                                        const OffPolicyOptions& options,
                                        std::vector<double>* weights) {
  std::vector<NcisTrajectory> nt;
  nt.reserve(trajectories.size());
  for (const OpeTrajectory& t : trajectories) {
    if (std::find(t.session_end.begin(), t.session_end.end(), 1) == t.session_end.end()) continue;
    nt.push_back({t.logp_pi, t.logp_beta, t.reward});
  }
  return WithPerSessionScale(NcisPerTrajectory(nt, NcisOptionsOf(options), weights),
                             trajectories);
}

absl::StatusOr<std::vector<double>> PerTrajectoryValues(
    const std::vector<OpeTrajectory>& trajectories, OpeEstimator estimator, OpeScale scale,
    const OffPolicyOptions& options) {
  std::vector<TrajectoryValue> values;
  switch (estimator) {
    case OpeEstimator::kNcis:
      values = NcisValues(trajectories, options);
      break;
    case OpeEstimator::kWis:
      values = SessionWisPerTrajectory(trajectories, WisOptionsOf(options));
      break;
    case OpeEstimator::kFqe:
      RETURN_IF_ERROR(CheckModelValues(trajectories));
      values = FqePerTrajectory(trajectories, options.fqe.gamma());
      break;
    case OpeEstimator::kDr:
      RETURN_IF_ERROR(CheckModelValues(trajectories));
      values = DrPerTrajectory(trajectories, options.fqe.gamma(), WisOptionsOf(options));
      break;
  }
  std::vector<double> out;
  out.reserve(values.size());
  for (const TrajectoryValue& v : values) {
    out.push_back(scale == OpeScale::kPerSession ? v.per_session : v.per_request);
  }
  return out;
}

absl::StatusOr<PairedDifference> ComparePolicies(const OffPolicyData& data,
                                                 const Policy& champion,
                                                 const Policy& challenger,
                                                 const std::string& task, OpeEstimator estimator,
                                                 OpeScale scale, bool true_propensity) {
  const bool model = estimator == OpeEstimator::kFqe || estimator == OpeEstimator::kDr;
  std::vector<float> actions;
  auto load = [&](const Policy& p, const char* who) -> absl::StatusOr<std::vector<OpeTrajectory>> {
    ASSIGN_OR_RETURN(std::vector<OpeTrajectory> ts,
                     data.Trajectories(p, task, data.users(), model ? &actions : nullptr));
    if (model) {
      auto fqe = data.FitFqe(p, task);
      if (!fqe.ok()) return Annotate(fqe.status(), absl::StrCat("FQE of the ", who));
      RETURN_IF_ERROR(data.AttachModel(**fqe, actions, &ts));
    }
    return ts;
  };
  ASSIGN_OR_RETURN(std::vector<OpeTrajectory> a, load(champion, "champion"));
  ASSIGN_OR_RETURN(std::vector<OpeTrajectory> b, load(challenger, "challenger"));
  if (true_propensity) {
    ASSIGN_OR_RETURN(a, data.WithTruePropensity(std::move(a)));
    ASSIGN_OR_RETURN(b, data.WithTruePropensity(std::move(b)));
  }
  const OffPolicyOptions& o = data.options();
  ASSIGN_OR_RETURN(const std::vector<double> va, PerTrajectoryValues(a, estimator, scale, o));
  ASSIGN_OR_RETURN(const std::vector<double> vb, PerTrajectoryValues(b, estimator, scale, o));
  return PairedBootstrap(va, vb, o.bootstrap, 0.95, o.seed);
}

}  // namespace resact
