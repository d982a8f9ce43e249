// The lockstep simulation of held-out users (sim_rollout.h).
#include "stages/sim/sim_rollout.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "graph/status.h"
#include "oneapi/tbb/parallel_for.h"
#include "stages/evaluators/statistics.h"
#include "stages/sim/sim_dynamics.h"
#include "stages/sim/sim_runner.h"
#include "storage/replay.pb.h"

namespace resact {
using sim_internal::Advance;
using sim_internal::EvalLayout;
using sim_internal::FillState;
using sim_internal::MakeRunnerUser;
using sim_internal::Runner;
using sim_internal::StartSession;

SimEvalConfig SimEvalConfigOfReplay(const ReplayMeta& meta, const std::string& dir) {
  SimEvalConfig config;
  config.state = SessionStateParamsOf(meta, dir);
  config.feedback_mean = meta.reward().feedback_mean();
  config.feedback_std = meta.reward().feedback_std() > 0 ? meta.reward().feedback_std() : 1;
  config.return_cap_hours = meta.reward().return_p75_hours();
  config.static_user_dim = meta.layout().static_user_dim();
  config.engagement_dim = meta.layout().engagement_dim();
  return config;
}
namespace {

// Held-out users 0 .. n − 1 at the start of their evaluated days: each made,
// then living its history under π_β on its own stream.
std::vector<Runner> LiveHistories(const SimDynamics& dynamics, const SimEvalConfig& c,
                                  const FeatureLayout& layout, int n) {
  const SimWorld& world = dynamics.world();
  const int d = world.dim();
  std::vector<Runner> runners(n);
  const double start = static_cast<double>(world.options().start_ts());
  tbb::parallel_for(0, n, [&](int i) {
    Runner& r = runners[i];
    const int64_t id = c.user_id_offset + 1 + i;
    MakeRunnerUser(world, dynamics, layout, c.state, id, r);
    r.rng = world.UserRng(id, 3);
    r.chooser_rng = world.UserRng(id, 4);
    r.t = start + r.user.start_offset_s;
    r.history_end = start + c.history_days * 86400;
    r.end = r.history_end + c.days * 86400;
    r.in_history = r.t < r.history_end;
    StartSession(r);
    if (!r.in_history) return;
    // The user's own history under π_β, on its own stream.
    r.history_rng = world.UserRng(id, 5);
    std::vector<float> a(d);
    double logprob;
    while (r.in_history && !r.finished) {
      Advance(dynamics, r, world.BehaviourAct(r.user, r.history_rng, a.data(), &logprob),
              r.history_rng);
    }
  });
  return runners;
}

}  // namespace

struct HeldOutUsers::Runners {
  const SimWorld* world = nullptr;
  SimEvalConfig config;
  std::vector<Runner> users;
};

HeldOutUsers::HeldOutUsers(std::unique_ptr<Runners> runners) : runners_(std::move(runners)) {}
HeldOutUsers::~HeldOutUsers() = default;
int HeldOutUsers::size() const { return static_cast<int>(runners_->users.size()); }

absl::StatusOr<std::shared_ptr<const HeldOutUsers>> HeldOutUsers::Start(
    const SimWorld& world, const SimEvalConfig& config) {
  ASSIGN_OR_RETURN(const FeatureLayout layout, EvalLayout(world, config, nullptr));
  auto runners = std::make_unique<Runners>();
  runners->world = &world;
  runners->config = config;
  runners->users = LiveHistories(SimDynamics(world), config, layout, config.users);
  return std::shared_ptr<const HeldOutUsers>(new HeldOutUsers(std::move(runners)));
}

namespace {

// The first n users of `start` (checked against world and config), or made here.
absl::StatusOr<std::vector<Runner>> StartUsers(const SimDynamics& dynamics,
                                               const SimEvalConfig& c,
                                               const FeatureLayout& layout, int n,
                                               const HeldOutUsers* start) {
  if (start == nullptr) return LiveHistories(dynamics, c, layout, n);
  const HeldOutUsers::Runners& s = start->runners();
  const SimEvalConfig& sc = s.config;
  if (s.world != &dynamics.world() || n > start->size() ||
      sc.user_id_offset != c.user_id_offset || sc.history_days != c.history_days ||
      sc.days != c.days || sc.static_user_dim != c.static_user_dim ||
      sc.engagement_dim != c.engagement_dim || sc.state.user_ema_alpha != c.state.user_ema_alpha ||
      sc.state.engagement != c.state.engagement) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SimulateUsers: the held-out users were started for another world or configuration (",
        start->size(), " users, ", sc.history_days, " days of history, ", sc.days,
        " days), not for ", n, " users, ", c.history_days, " days of history, ", c.days,
        " days"));
  }
  return std::vector<Runner>(s.users.begin(), s.users.begin() + n);
}

}  // namespace

absl::StatusOr<std::vector<SimTrace>> SimulateUsers(const SimWorld& world,
                                                    const SimEvalConfig& c,
                                                    const Policy* policy,
                                                    const ItemChooser* chooser,
                                                    const HeldOutUsers* start) {
  if (policy != nullptr && chooser != nullptr) {
    return absl::InvalidArgumentError("SimulateUsers: give a policy or an item chooser, not both");
  }
  ASSIGN_OR_RETURN(const FeatureLayout layout, EvalLayout(world, c, policy));
  const int d = layout.emb_dim;
  const SimDynamics dynamics(world);
  ASSIGN_OR_RETURN(std::vector<Runner> runners, StartUsers(dynamics, c, layout, c.users, start));
  std::vector<std::unique_ptr<SimUserChooser>> choosers(chooser != nullptr ? c.users : 0);
  for (size_t i = 0; i < choosers.size(); ++i) choosers[i] = chooser->ForUser(runners[i].user);
  const int sd = layout.state_dim();
  std::vector<int> active;
  std::vector<float> states, actions;
  std::vector<int32_t> chosen;
  double logprob;
  while (true) {
    active.clear();
    for (int i = 0; i < c.users; ++i) {
      if (!runners[i].finished) active.push_back(i);
    }
    if (active.empty()) break;
    const int n = static_cast<int>(active.size());
    actions.resize(static_cast<size_t>(n) * d);
    if (policy != nullptr) {
      states.resize(static_cast<size_t>(n) * sd);
      for (int k = 0; k < n; ++k) {
        FillState(world, c, layout, runners[active[k]], states.data() + static_cast<size_t>(k) * sd);
      }
      RETURN_IF_ERROR(policy->Act(states.data(), n, actions.data()));
    } else if (chooser != nullptr) {
      chosen.resize(n);
      tbb::parallel_for(0, n, [&](int k) {
        Runner& r = runners[active[k]];
        chosen[k] = choosers[active[k]]->Choose(r.state, {r.position, r.sat_sum, (r.end - r.t) / 3600},
                                      r.chooser_rng);
      });
    }
    for (int k = 0; k < n; ++k) {
      Runner& r = runners[active[k]];
      float* a = actions.data() + static_cast<size_t>(k) * d;
      const int32_t item = policy != nullptr    ? world.Serve(a)
                           : chooser != nullptr ? chosen[k]
                                                : world.BehaviourAct(r.user, r.rng, a, &logprob);
      Advance(dynamics, r, item, r.rng);
    }
  }
  std::vector<SimTrace> traces(c.users);
  for (int i = 0; i < c.users; ++i) traces[i] = std::move(runners[i].trace);
  return traces;
}

absl::StatusOr<CriticQuality> RateCritic(const SimWorld& world, const SimEvalConfig& c,
                                         const Policy& policy, const OracleObjective& objective,
                                         int states, int rollouts, int sessions,
                                         const HeldOutUsers* start) {
  const int k = policy.candidates();
  if (k < 1) return absl::InvalidArgumentError("RateCritic: the policy has no candidates");
  ASSIGN_OR_RETURN(const FeatureLayout layout, EvalLayout(world, c, &policy));
  const SimDynamics dynamics(world);
  const int n_users = std::min(states, c.users);
  ASSIGN_OR_RETURN(std::vector<Runner> runners, StartUsers(dynamics, c, layout, n_users, start));
  std::vector<int> rated;
  for (int i = 0; i < n_users; ++i) {
    if (!runners[i].finished) rated.push_back(i);
  }
  CriticQuality q;
  if (rated.empty()) return q;
  const int n = static_cast<int>(rated.size()), sd = layout.state_dim(), d = layout.emb_dim;
  std::vector<float> x(static_cast<size_t>(n) * sd), actions(static_cast<size_t>(n) * k * d),
      scores(static_cast<size_t>(n) * k);
  for (int j = 0; j < n; ++j) FillState(world, c, layout, runners[rated[j]], x.data() + j * sd);
  RETURN_IF_ERROR(policy.ScoredCandidates(x.data(), n, actions.data(), scores.data()));
  std::vector<double> rho(n, NAN), pick(n, NAN), best(n, NAN);
  tbb::parallel_for(0, n, [&](int j) {
    const Runner& r = runners[rated[j]];
    const CandidateValuer valuer(dynamics, r.user, objective, sessions);
    SimRng rng = world.UserRng(c.user_id_offset + 1 + rated[j], 6);
    std::vector<uint64_t> seeds(rollouts);
    for (uint64_t& seed : seeds) seed = rng.Next();
    const SimSessionProgress progress{r.position, r.sat_sum, (r.end - r.t) / 3600};
    std::vector<double> score(k), value(k);
    int top = 0;
    double mean = 0, max_value = -INFINITY;
    for (int m = 0; m < k; ++m) {
      const size_t row = static_cast<size_t>(j) * k + m;
      score[m] = scores[row];
      value[m] = valuer.Value(world.Serve(actions.data() + row * d), r.state, progress, seeds);
      if (score[m] > score[top]) top = m;
      mean += value[m] / k;
      max_value = std::max(max_value, value[m]);
    }
    rho[j] = SpearmanCorrelation(score, value);
    if (std::isfinite(rho[j])) {
      pick[j] = value[top] - mean;
      best[j] = max_value - mean;
    }
  });
  double sum_rho = 0, sum_pick = 0, sum_best = 0;
  for (int j = 0; j < n; ++j) {
    if (!std::isfinite(rho[j])) continue;  // All candidates served alike.
    ++q.states;
    sum_rho += rho[j];
    sum_pick += pick[j];
    sum_best += best[j];
  }
  if (q.states > 0) {
    q.spearman = sum_rho / q.states;
    q.pick_gain = sum_pick / q.states;
    q.best_gain = sum_best / q.states;
  }
  return q;
}

void SummarizeTraces(absl::Span<const SimTrace> traces, absl::Span<const SimTrace> baseline,
                     const SimEvalConfig& c, double w_rt, double w_sl, const std::string& prefix,
                     MetricsBatch* out) {
  std::vector<double> rt, sl, task, task_session, ret, len;
  const double max_r = c.max_reward;
  for (size_t u = 0; u < traces.size(); ++u) {
    const SimTrace& t = traces[u];
    const SimTrace& b = baseline[u];
    if (t.session_length.empty()) continue;
    double b_len = 0, b_ret = 0;
    for (uint32_t l : b.session_length) b_len += l;
    b_len /= std::max<size_t>(1, b.session_length.size());
    for (double h : b.return_hours) b_ret += h;
    b_ret = b.return_hours.empty() ? c.return_cap_hours : b_ret / b.return_hours.size();
    const double cap = std::min(b_ret, c.return_cap_hours);
    double sum_rt = 0, sum_sl = 0, requests = 0, sum_ret = 0;
    for (size_t s = 0; s < t.session_length.size(); ++s) {
      requests += t.session_length[s];
      if (s < t.return_hours.size()) {
        const double delta = t.return_hours[s];
        sum_rt += std::clamp(std::floor(cap / delta), 0.0, max_r);
        sum_ret += delta;
      }
      sum_sl += std::clamp(
          std::floor(t.session_length[s] / (c.session_length_scale * b_len)), 0.0, max_r);
    }
    rt.push_back(sum_rt / requests);
    sl.push_back(sum_sl / requests);
    task.push_back((w_rt * sum_rt + w_sl * sum_sl) / requests);
    task_session.push_back((w_rt * sum_rt + w_sl * sum_sl) / t.session_length.size());
    if (!t.return_hours.empty()) ret.push_back(sum_ret / t.return_hours.size());
    len.push_back(requests / t.session_length.size());
  }
  auto add = [&](const std::string& name, const std::vector<double>& v) {
    double mean = 0;
    for (double x : v) mean += x;
    mean /= std::max<size_t>(1, v.size());
    double lo, hi;
    BootstrapMeanCi(v, c.bootstrap, 0.95, 17, &lo, &hi);
    out->Add(prefix + name, mean);
    out->Add(prefix + name + "_ci_low", lo);
    out->Add(prefix + name + "_ci_high", hi);
  };
  add("r_rt", rt);
  add("r_sl", sl);
  add("reward", task);
  add("reward_per_session", task_session);
  add("return_hours", ret);
  add("session_length", len);
}

}  // namespace resact
