// The closed loop's simulated users (sim_population.h).
#include "stages/sim/sim_population.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "graph/status.h"
#include "oneapi/tbb/parallel_for.h"
#include "stages/sim/sim_dynamics.h"
#include "stages/sim/sim_runner.h"

namespace resact {
using sim_internal::Runner;

int64_t SimDayOf(const SimulatorOptions& o, int64_t ts_ms) {
  const int64_t s = ts_ms / 1000 - o.start_ts();
  return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

struct SimPopulation::Impl {
  const SimWorld* world = nullptr;
  SimDynamics dynamics;
  SimEvalConfig config;
  FeatureLayout layout;
  std::vector<Runner> users;
  std::vector<SimRng> explore;  // Each user's stream 7.
  // The per-user choosers of the chooser that served last.
  const ItemChooser* chooser = nullptr;
  std::vector<std::unique_ptr<SimUserChooser>> choosers;
  int days = 0, lived = 0;

  explicit Impl(const SimWorld& w) : world(&w), dynamics(w) {}
};

SimPopulation::SimPopulation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SimPopulation::~SimPopulation() = default;
int64_t SimPopulation::size() const { return static_cast<int64_t>(impl_->users.size()); }
int SimPopulation::days_lived() const { return impl_->lived; }

int64_t SimPopulation::active() const {
  int64_t n = 0;
  for (const Runner& r : impl_->users) n += r.state.churned ? 0 : 1;
  return n;
}

std::vector<SimTrace> SimPopulation::Traces() const {
  std::vector<SimTrace> out;
  out.reserve(impl_->users.size());
  for (const Runner& r : impl_->users) out.push_back(r.trace);
  return out;
}

absl::StatusOr<std::unique_ptr<SimPopulation>> SimPopulation::Start(const SimWorld& world,
                                                                    const SimEvalConfig& config,
                                                                    int64_t users, int days) {
  if (users < 0 || users > world.num_users()) {
    return absl::InvalidArgumentError(absl::StrCat("SimPopulation: ", users,
                                                   " users asked for; the world has ",
                                                   world.num_users(), " (0: all)"));
  }
  if (days < 1) return absl::InvalidArgumentError("SimPopulation: days must be >= 1");
  auto impl = std::make_unique<Impl>(world);
  impl->config = config;
  impl->config.history_days = 0;
  impl->config.user_id_offset = 0;
  ASSIGN_OR_RETURN(impl->layout, sim_internal::EvalLayout(world, impl->config, nullptr));
  impl->days = days;
  const int64_t n = users == 0 ? world.num_users() : users;
  impl->users.resize(n);
  impl->explore.assign(n, SimRng(0));
  const double start = static_cast<double>(world.options().start_ts());
  Impl& m = *impl;
  tbb::parallel_for(int64_t{0}, n, [&](int64_t i) {
    Runner& r = m.users[i];
    const int64_t id = i + 1;
    sim_internal::MakeRunnerUser(world, m.dynamics, m.layout, m.config.state, id, r);
    r.rng = world.UserRng(id, 2);
    r.chooser_rng = world.UserRng(id, 4);
    m.explore[i] = world.UserRng(id, 7);
    r.t = start + r.user.start_offset_s;
    r.end = start + days * 86400.0;
    r.finished = r.t >= r.end;
    if (!r.finished) sim_internal::StartSession(r);
  });
  return std::unique_ptr<SimPopulation>(new SimPopulation(std::move(impl)));
}

absl::Status SimPopulation::LiveDay(int day, const SimServing& serving, double feedback_mean,
                                    double feedback_std, SimDayLog* log) {
  Impl& m = *impl_;
  if (day != m.lived) {
    return absl::InvalidArgumentError(absl::StrCat("SimPopulation: day ", day,
                                                   " asked for; the next day to live is ",
                                                   m.lived));
  }
  if (day >= m.days) {
    return absl::InvalidArgumentError(
        absl::StrCat("SimPopulation: day ", day, " is past the population's ", m.days, " days"));
  }
  if (serving.policy != nullptr && serving.chooser != nullptr) {
    return absl::InvalidArgumentError("SimPopulation: serve by a policy or a chooser, not both");
  }
  if (serving.policy != nullptr && !(serving.exploration_std > 0)) {
    return absl::InvalidArgumentError(
        "SimPopulation: a policy serves with exploration_std > 0, so that its propensities exist");
  }
  const SimWorld& world = *m.world;
  const SimulatorOptions& o = world.options();
  SimEvalConfig c = m.config;
  c.feedback_mean = feedback_mean;
  c.feedback_std = feedback_std > 0 ? feedback_std : 1;
  ASSIGN_OR_RETURN(const FeatureLayout layout, sim_internal::EvalLayout(world, c, serving.policy));
  const int d = layout.emb_dim, sd = layout.state_dim();
  const int64_t n_users = size();
  if (serving.chooser != nullptr && serving.chooser != m.chooser) {
    m.choosers.clear();
    m.choosers.resize(n_users);
    tbb::parallel_for(int64_t{0}, n_users,
                      [&](int64_t i) { m.choosers[i] = serving.chooser->ForUser(m.users[i].user); });
    m.chooser = serving.chooser;
  }
  const double sd_e = serving.exploration_std;
  const double log_norm = -d * std::log(sd_e) - 0.5 * d * std::log(2 * M_PI);
  std::vector<int64_t> active;
  std::vector<float> states, mean, actions;
  std::vector<int32_t> chosen;
  std::vector<double> logprob;
  while (true) {
    active.clear();
    for (int64_t i = 0; i < n_users; ++i) {
      const Runner& r = m.users[i];
      if (!r.finished && SimDayOf(o, sim_internal::ToMs(r.t)) <= day) active.push_back(i);
    }
    if (active.empty()) break;
    const int64_t n = static_cast<int64_t>(active.size());
    actions.resize(static_cast<size_t>(n) * d);
    chosen.resize(n);
    logprob.resize(n);
    if (serving.policy != nullptr) {
      states.resize(static_cast<size_t>(n) * sd);
      mean.resize(static_cast<size_t>(n) * d);
      for (int64_t k = 0; k < n; ++k) {
        sim_internal::FillState(world, c, layout, m.users[active[k]],
                                states.data() + static_cast<size_t>(k) * sd);
      }
      RETURN_IF_ERROR(serving.policy->Act(states.data(), n, mean.data()));
      tbb::parallel_for(int64_t{0}, n, [&](int64_t k) {
        const float* mu = mean.data() + static_cast<size_t>(k) * d;
        float* a = actions.data() + static_cast<size_t>(k) * d;
        SimRng& rng = m.explore[active[k]];
        for (int j = 0; j < d; ++j) a[j] = static_cast<float>(mu[j] + sd_e * rng.Normal());
        chosen[k] = world.Serve(a);
        const float* e = world.items().row(chosen[k]);
        double q = 0;
        for (int j = 0; j < d; ++j) {
          const double z = (e[j] - mu[j]) / sd_e;
          q += z * z;
        }
        logprob[k] = -0.5 * q + log_norm;
      });
    } else if (serving.chooser != nullptr) {
      tbb::parallel_for(int64_t{0}, n, [&](int64_t k) {
        Runner& r = m.users[active[k]];
        chosen[k] = m.choosers[active[k]]->Choose(
            r.state, {r.position, r.sat_sum, (r.end - r.t) / 3600}, r.chooser_rng);
        logprob[k] = 0;  // A chooser's choice has no density.
      });
    }
    for (int64_t k = 0; k < n; ++k) {
      Runner& r = m.users[active[k]];
      if (serving.policy == nullptr && serving.chooser == nullptr) {
        chosen[k] = world.BehaviourAct(r.user, r.rng, actions.data() + static_cast<size_t>(k) * d,
                                       &logprob[k]);
      }
      const int64_t ts = sim_internal::ToMs(r.t);
      const double feedback = sim_internal::Advance(m.dynamics, r, chosen[k], r.rng);
      if (log != nullptr) {
        log->user.push_back(r.user.id);
        log->item.push_back(world.items().item_id[chosen[k]]);
        log->ts_ms.push_back(ts);
        log->feedback.push_back(static_cast<float>(feedback));
        log->logprob.push_back(static_cast<float>(logprob[k]));
      }
    }
  }
  ++m.lived;
  return absl::OkStatus();
}

void SummarizeDay(const std::vector<SimTrace>& traces, const std::vector<SimTrace>& baseline,
                  const SimEvalConfig& config, const SimulatorOptions& world, int day, double w_rt,
                  double w_sl, const std::string& prefix, MetricsBatch* out) {
  std::vector<SimTrace> slice(traces.size());
  double requests = 0, users = 0;
  for (size_t u = 0; u < traces.size(); ++u) {
    const SimTrace& t = traces[u];
    SimTrace& s = slice[u];
    for (size_t i = 0; i < t.session_length.size(); ++i) {
      if (SimDayOf(world, t.session_start_ms[i]) != day) continue;
      s.session_length.push_back(t.session_length[i]);
      s.session_start_ms.push_back(t.session_start_ms[i]);
      s.session_end_ms.push_back(t.session_end_ms[i]);
      if (i < t.return_hours.size()) s.return_hours.push_back(t.return_hours[i]);
      requests += t.session_length[i];
    }
    users += s.session_length.empty() ? 0 : 1;
  }
  SummarizeTraces(slice, baseline, config, w_rt, w_sl, prefix, out);
  out->Add(prefix + "active_users", users);
  out->Add(prefix + "requests", requests);
}

}  // namespace resact
