// SimulatorEvaluator: ground truth for a policy. Each policy snapshot is run
// online in the simulated world for held-out users (ids the log never has),
// with states built exactly as the training pipeline builds them: by the
// session-history builder (stages/features/session_history.h) with the
// parameters recorded in the replay's metadata, and with the users' profiles
// when the replay's s_h has static user features; the
// logging policy π_β runs for the same users as the baseline. It reports the
// true mean r_rt, r_sl and task reward per request, mean return hours and
// mean session length, each with a 95% bootstrap CI over users, for the
// policy and for π_β, and (`oracles`, sim_oracles.h) for the greedy and
// the lookahead oracle, which see the hidden state. Under `sim.dynamics:
// LONG_TERM` the held-out users run the same dynamics (sim_dynamics.h), and
// each first lives `history_days` (default: the log's sim.days) under π_β on
// its own random stream: every policy then starts from the satiation, trust
// and s_h (history, recent engagement) that the user's own history produced,
// the same for all of them, and is measured over the following `days`.
//
// Example:
//   stage {
//     name: "sim_eval" type: "SimulatorEvaluator"
//     input_stream: "policies" output_stream: "sim_metrics"
//     options { [type.googleapis.com/resact.SimulatorEvaluatorOptions] {
//       sim { scale: 0.02 seed: 1 } users: 500 } }
//   }
#include "stages/sim/simulator_evaluator.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "graph/files.h"
#include "oneapi/tbb/parallel_for.h"
#include "stages/evaluators/statistics.h"
#include "stages/features/session_history.h"
#include "stages/sim/sim_dynamics.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"

namespace resact {
namespace {

// Per-user state of the lockstep simulation.
struct Runner {
  SimUser user;
  SimUserState state;          // LONG_TERM's satiation and trust.
  std::vector<float> profile;  // Static user features of s_h (may be empty).
  SimRng rng{0};
  SimRng history_rng{0};  // π_β and the user's responses during the history.
  std::unique_ptr<SimUserChooser> chooser;  // With an ItemChooser.
  SimRng chooser_rng{0};                    // The chooser's own stream.
  double t = 0, end = 0, history_end = 0;
  bool in_history = false;  // Living the history under π_β (not traced).
  bool finished = false;
  // History before the current session (s_h), as the training pipeline keeps it.
  SessionHistoryBuilder history;
  // Current session.
  std::vector<float> s_h, session_sum;
  double session_start = 0, sat_sum = 0;
  int64_t position = 0, prev_end_ms = 0;
  int32_t prev_item = -1;
  float prev_feedback = 0;
  SimTrace trace;
};

// The log the pipeline trained on has millisecond timestamps (SimulatorLogSource).
int64_t ToMs(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1000)); }

void StartSession(Runner& r) {
  const int64_t start_ms = ToMs(r.t);
  r.history.BeginSession(start_ms, ReturnHoursBetween(r.prev_end_ms, start_ms), r.s_h.data());
  if (!r.in_history) {
    if (r.trace.session_start_ms.empty()) {
      r.trace.start_trust = r.state.trust;
      r.trace.history_sessions = r.history.sessions();
    }
    r.trace.session_start_ms.push_back(start_ms);
  }
  std::fill(r.session_sum.begin(), r.session_sum.end(), 0.f);
  r.session_start = r.t;
  r.sat_sum = 0;
  r.position = 0;
  r.prev_item = -1;
  r.prev_feedback = 0;
}

// Serves item row `item` to `r`, draws the response on `rng` and moves the
// user on: to the next request, the next session, or the end.
void Advance(const SimDynamics& dynamics, Runner& r, int32_t item, SimRng& rng) {
  const SimWorld& world = dynamics.world();
  const double sat = dynamics.Satisfaction(r.user, r.state, item, rng);
  dynamics.Consume(r.state, item);
  const float* e = world.items().row(item);
  for (size_t j = 0; j < r.session_sum.size(); ++j) r.session_sum[j] += e[j];
  r.prev_feedback = static_cast<float>(sat);
  r.history.AddItem(e, &r.prev_feedback);
  r.sat_sum += sat;
  ++r.position;
  r.prev_item = item;
  if (r.position < 200 && rng.Uniform() < dynamics.ContinueProbability(r.user, r.state, sat)) {
    r.t += world.RequestGapSeconds(rng);
    return;
  }
  // The session ends.
  r.history.EndSession(static_cast<uint64_t>(r.position));
  r.prev_end_ms = ToMs(r.t);
  if (!r.in_history) {
    r.trace.session_length.push_back(static_cast<uint32_t>(r.position));
    r.trace.session_end_ms.push_back(r.prev_end_ms);
  }
  if (dynamics.EndSession(r.state, rng)) {  // Churned: never returns.
    r.finished = true;
    return;
  }
  const double gap = dynamics.ReturnHours(r.user, r.state, r.sat_sum / r.position, rng);
  dynamics.Rest(r.state, gap);
  r.t += gap * 3600;
  // The return into the evaluated days belongs to the history.
  const bool traced = !r.in_history;
  if (r.in_history && r.t >= r.history_end) r.in_history = false;
  if (r.t >= r.end) {
    r.finished = true;
    return;
  }
  if (traced) r.trace.return_hours.push_back(gap);
  StartSession(r);
}

}  // namespace

namespace {

// The layout of the states the evaluation builds, checked against `policy`.
absl::StatusOr<FeatureLayout> EvalLayout(const SimWorld& world, const SimEvalConfig& c,
                                         const Policy* policy) {
  const int d = world.dim();
  FeatureLayout layout;
  layout.emb_dim = d;
  layout.static_user_dim = c.static_user_dim;
  layout.engagement_dim = c.engagement_dim;
  if (c.static_user_dim != 0 && c.static_user_dim != d) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the replay's s_h has ", c.static_user_dim,
        " static user features; the simulator's user profiles have ", d));
  }
  if (policy != nullptr &&
      (policy->state_dim() != layout.state_dim() || policy->action_dim() != d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the policy takes states of ", policy->state_dim(), " and gives actions of ",
        policy->action_dim(), " floats, but the simulator has ", layout.state_dim(), " and ", d));
  }
  return layout;
}

// Held-out users 0 .. n − 1 at the start of their evaluated days: each made,
// then living its history under π_β on its own stream.
std::vector<Runner> StartRunners(const SimDynamics& dynamics, const SimEvalConfig& c,
                                 const FeatureLayout& layout, int n, const ItemChooser* chooser) {
  const SimWorld& world = dynamics.world();
  const int d = world.dim();
  std::vector<Runner> runners(n);
  const double start = static_cast<double>(world.options().start_ts());
  tbb::parallel_for(0, n, [&](int i) {
    Runner& r = runners[i];
    const int64_t id = c.user_id_offset + 1 + i;
    r.user = world.MakeUser(id);
    r.state = dynamics.InitialState();
    if (c.static_user_dim > 0) {
      r.profile.resize(d);
      world.Profile(r.user, r.profile.data());
    }
    r.rng = world.UserRng(id, 3);
    if (chooser != nullptr) {
      r.chooser = chooser->ForUser(r.user);
      r.chooser_rng = world.UserRng(id, 4);
    }
    r.t = start + r.user.start_offset_s;
    r.history_end = start + c.history_days * 86400;
    r.end = r.history_end + c.days * 86400;
    r.in_history = r.t < r.history_end;
    r.history = SessionHistoryBuilder(layout, c.state);
    r.history.StartUser(r.profile.empty() ? nullptr : r.profile.data());
    r.s_h.resize(layout.session_dim());
    r.session_sum.assign(d, 0.f);
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

// The state a policy acts on for `r`'s next request (layout.state_dim() floats).
void FillState(const SimWorld& world, const SimEvalConfig& c, const FeatureLayout& layout,
               const Runner& r, float* s) {
  std::copy(r.s_h.begin(), r.s_h.end(), s);
  const float fb =
      (r.prev_feedback - static_cast<float>(c.feedback_mean)) / static_cast<float>(c.feedback_std);
  FillRequestFeatures(layout, r.position, (r.t - r.session_start) / 60,
                      r.prev_item >= 0 ? world.items().row(r.prev_item) : nullptr,
                      r.session_sum.data(), fb, s + layout.session_dim());
}

}  // namespace

absl::StatusOr<std::vector<SimTrace>> SimulateUsers(const SimWorld& world,
                                                    const SimEvalConfig& c,
                                                    const Policy* policy,
                                                    const ItemChooser* chooser) {
  if (policy != nullptr && chooser != nullptr) {
    return absl::InvalidArgumentError("SimulateUsers: give a policy or an item chooser, not both");
  }
  ASSIGN_OR_RETURN(const FeatureLayout layout, EvalLayout(world, c, policy));
  const int d = layout.emb_dim;
  const SimDynamics dynamics(world);
  std::vector<Runner> runners = StartRunners(dynamics, c, layout, c.users, chooser);
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
        chosen[k] = r.chooser->Choose(r.state, {r.position, r.sat_sum, (r.end - r.t) / 3600},
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
                                         int states, int rollouts, int sessions) {
  const int k = policy.candidates();
  if (k < 1) return absl::InvalidArgumentError("RateCritic: the policy has no candidates");
  ASSIGN_OR_RETURN(const FeatureLayout layout, EvalLayout(world, c, &policy));
  const SimDynamics dynamics(world);
  const int n_users = std::min(states, c.users);
  std::vector<Runner> runners = StartRunners(dynamics, c, layout, n_users, nullptr);
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

void SummarizeTraces(const std::vector<SimTrace>& traces, const std::vector<SimTrace>& baseline,
                     const SimEvalConfig& c, double w_rt, double w_sl, const std::string& prefix,
                     MetricsBatch* out) {
  std::vector<double> rt, sl, task, ret, len;
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
  add("return_hours", ret);
  add("session_length", len);
}

absl::Status SimulatorEvaluator::Init() {
  if (options_.users() < 1) return absl::InvalidArgumentError("users: must be >= 1");
  if (options_.days() < 0) return absl::InvalidArgumentError("days: must be >= 0");
  return absl::OkStatus();
}

absl::Status SimulatorEvaluator::Open(const StageContext& ctx) {
  ctx_ = &ctx;
  world_ = std::make_unique<SimWorld>(options_.sim());
  dynamics_ = std::make_unique<SimDynamics>(*world_);
  return absl::OkStatus();
}

absl::Status SimulatorEvaluator::LoadConfig() {
  std::filesystem::path dir(options_.replay_dir());
  if (dir.is_relative()) dir = std::filesystem::path(ctx_->workdir()) / dir;
  ReplayMeta meta;
  {
    ReplayStoreOptions so;
    so.read_only = true;
    ASSIGN_OR_RETURN(auto store, ReplayStore::Open(dir.string(), so));
    ASSIGN_OR_RETURN(meta, store->ReadMeta());
    RETURN_IF_ERROR(CheckReplayComplete(meta, dir.string()));
    RETURN_IF_ERROR(CheckSimulatedWith(meta.source_description(), options_.sim(), dir.string()));
  }
  config_.users = options_.users();
  config_.days = options_.days() > 0 ? options_.days() : options_.sim().days();
  config_.user_id_offset = options_.user_id_offset();
  config_.state = SessionStateParamsOf(meta, dir.string());
  config_.feedback_mean = meta.reward().feedback_mean();
  config_.feedback_std = meta.reward().feedback_std() > 0 ? meta.reward().feedback_std() : 1;
  config_.return_cap_hours = meta.reward().return_p75_hours();
  config_.session_length_scale = options_.session_length_scale();
  config_.max_reward = options_.max_reward();
  config_.bootstrap = options_.bootstrap();
  config_.static_user_dim = meta.layout().static_user_dim();
  config_.engagement_dim = meta.layout().engagement_dim();
  config_.history_days = options_.history_days() >= 0 ? options_.history_days()
                         : world_->long_term()        ? options_.sim().days()
                                                      : 0;
  ASSIGN_OR_RETURN(baseline_, SimulateUsers(*world_, config_, nullptr));
  return absl::OkStatus();
}

OracleObjective SimulatorEvaluator::ObjectiveOf(const std::string& task) const {
  const TaskRewardWeights w = RewardWeightsOf(task);
  OracleObjective objective;
  objective.w_rt = w.rt;
  objective.w_sl = w.sl;
  objective.return_cap_hours = config_.return_cap_hours;
  objective.session_length_scale = config_.session_length_scale;
  objective.max_reward = config_.max_reward;
  return objective;
}

absl::StatusOr<MetricsBatch> SimulatorEvaluator::SimulateReferenceRows(const std::string& task) {
  const TaskRewardWeights w = RewardWeightsOf(task);
  if (greedy_.empty()) {
    const GreedyOracle greedy(*dynamics_);
    ASSIGN_OR_RETURN(greedy_, SimulateUsers(*world_, config_, nullptr, &greedy));
  }
  const OracleObjective objective = ObjectiveOf(task);
  LookaheadParams params;
  params.candidates = options_.lookahead_candidates();
  params.rollouts = options_.lookahead_rollouts();
  params.sessions = options_.lookahead_sessions();
  const LookaheadOracle lookahead(*dynamics_, objective, params);
  const double t0 = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  ASSIGN_OR_RETURN(std::vector<SimTrace> traces,
                   SimulateUsers(*world_, config_, nullptr, &lookahead));
  LOG(INFO) << "SimulatorEvaluator: oracles simulated for task " << task << " in "
            << absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()) - t0 << " s";
  MetricsBatch m;
  SummarizeTraces(greedy_, baseline_, config_, w.rt, w.sl, "sim_greedy_oracle_", &m);
  SummarizeTraces(traces, baseline_, config_, w.rt, w.sl, "sim_lookahead_oracle_", &m);
  return m;
}

absl::StatusOr<MetricsBatch> SimulatorEvaluator::ReferenceRows(const std::string& task) {
  std::lock_guard<std::mutex> lock(reference_mu_);
  auto it = reference_.find(task);
  if (it != reference_.end()) return it->second;
  if (options_.reference_cache().empty()) {
    ASSIGN_OR_RETURN(MetricsBatch m, SimulateReferenceRows(task));
    return reference_.emplace(task, std::move(m)).first->second;
  }
  // The key: everything the rows depend on.
  SimulatorEvaluatorOptions keyed = options_;
  keyed.clear_replay_dir();
  keyed.clear_final_only();
  keyed.clear_reference_cache();
  std::string key;
  keyed.SerializeToString(&key);
  absl::StrAppend(&key, "|", task, "|", config_.return_cap_hours, "|", config_.feedback_mean, "|",
                  config_.feedback_std, "|", config_.state.user_ema_alpha, "|",
                  config_.state.engagement, "|", config_.static_user_dim, "|",
                  config_.engagement_dim, "|", config_.history_days, "|", config_.days);
  std::filesystem::path dir(options_.reference_cache());
  if (dir.is_relative()) dir = std::filesystem::path(ctx_->workdir()) / dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path =
      (dir / absl::StrFormat("oracles-%s-%016x.txt", task, Checksum64(key))).string();
  // One evaluator simulates; the others wait for it and read its file.
  const std::string lock_path = (dir / ".lock").string();
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
    if (fd >= 0) ::close(fd);
    return absl::InternalError(
        absl::StrCat("reference_cache: cannot lock ", lock_path, ": ", std::strerror(errno)));
  }
  auto unlock = absl::MakeCleanup([fd] { ::close(fd); });
  MetricsBatch m;
  if (std::filesystem::exists(path)) {
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      const std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
      double v;
      if (f.size() != 2 || !absl::SimpleAtod(f[1], &v)) {
        return absl::DataLossError(absl::StrCat("reference_cache file ", path,
                                                ": expected lines 'metric value', got '", line,
                                                "'; remove the file to simulate it again"));
      }
      m.Add(std::string(f[0]), v);
    }
    LOG(INFO) << "SimulatorEvaluator: oracles for task " << task << " read from " << path;
  } else {
    ASSIGN_OR_RETURN(m, SimulateReferenceRows(task));
    std::string text;
    for (size_t i = 0; i < m.name.size(); ++i) {
      absl::StrAppendFormat(&text, "%s %.17g\n", m.name[i], m.value[i]);
    }
    RETURN_IF_ERROR(WriteFileAtomically(path, text));
  }
  return reference_.emplace(task, std::move(m)).first->second;
}

absl::Status SimulatorEvaluator::Process(int, const Packet& packet, Emitter& out) {
  const PolicySnapshot& snap = packet.Get<PolicySnapshot>();
  if (options_.final_only() && !snap.final) return absl::OkStatus();
  RETURN_IF_ERROR(load_.Ensure([&] { return LoadConfig(); }));
  // A learning-curve point may simulate fewer users (curve_users).
  SimEvalConfig config = config_;
  if (!snap.final && options_.curve_users() > 0) {
    config.users = std::min(config.users, options_.curve_users());
  }
  ASSIGN_OR_RETURN(std::vector<SimTrace> traces, SimulateUsers(*world_, config, snap.policy.get()));
  const std::vector<SimTrace> baseline(baseline_.begin(), baseline_.begin() + config.users);
  const TaskRewardWeights w = RewardWeightsOf(snap.task);
  std::shared_ptr<MetricsBatch> m = MetricsForSnapshot(snap, "simulator");
  SummarizeTraces(traces, baseline, config, w.rt, w.sl, "sim_", m.get());
  SummarizeTraces(baseline, baseline, config, w.rt, w.sl, "sim_behaviour_", m.get());
  m->Add("sim_users", config.users);
  if (snap.final && options_.critic_states() > 0 && snap.policy->candidates() > 0) {
    ASSIGN_OR_RETURN(const CriticQuality q,
                     RateCritic(*world_, config_, *snap.policy, ObjectiveOf(snap.task),
                                options_.critic_states(), options_.critic_rollouts(),
                                options_.lookahead_sessions()));
    m->Add("sim_critic_spearman", q.spearman);
    m->Add("sim_critic_pick_gain", q.pick_gain);
    m->Add("sim_critic_best_gain", q.best_gain);
    m->Add("sim_critic_states", q.states);
  }
  if (options_.oracles()) {
    ASSIGN_OR_RETURN(const MetricsBatch ref, ReferenceRows(snap.task));
    for (size_t i = 0; i < ref.name.size(); ++i) m->Add(ref.name[i], ref.value[i]);
  }
  ctx_->progress().AddRows(1);
  return out.Emit(0, PayloadType::kMetrics, std::shared_ptr<const MetricsBatch>(m));
}

RESACT_REGISTER_STAGE(SimulatorEvaluator);

}  // namespace resact
