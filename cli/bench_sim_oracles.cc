// `resact bench sim-oracles`: the myopia gap of the simulated world (issue 13,
// method.md section 5 "Oracles"). For STATIC and LONG_TERM it simulates the
// same held-out users under π_β, the greedy oracle and the lookahead oracle
// (stages/sim/sim_oracles.h; the lookahead plans for the return-time task)
// and prints one JSON line: each one's return-time reward per request, mean
// return hours and mean session length, and the gap lookahead − greedy in %.
// The users first live --history-days under π_β, as SimulatorEvaluator's
// do. The rewards use SimEvalConfig's defaults (δ_75% = 6 h), not a
// training log's; it is a measurement, not a test.
#include <cstdio>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/bench.h"
#include "cli/commands.h"
#include "graph/status.h"
#include "oneapi/tbb/global_control.h"
#include "stages/sim/sim_rollout.h"

namespace resact {
namespace {

struct Figures {
  double reward = 0, return_hours = 0, session_length = 0;
};

Figures Summarize(const std::vector<SimTrace>& traces, const std::vector<SimTrace>& baseline,
                  const SimEvalConfig& config) {
  MetricsBatch m;
  SummarizeTraces(traces, baseline, config, /*w_rt=*/1, /*w_sl=*/0, "", &m);
  Figures f;
  for (size_t i = 0; i < m.name.size(); ++i) {
    if (m.name[i] == "reward") f.reward = m.value[i];
    if (m.name[i] == "return_hours") f.return_hours = m.value[i];
    if (m.name[i] == "session_length") f.session_length = m.value[i];
  }
  return f;
}

std::string Json(const Figures& f) {
  return absl::StrFormat("{\"reward\":%.5f,\"return_hours\":%.4f,\"session_length\":%.4f}",
                         f.reward, f.return_hours, f.session_length);
}

// One world's figures as a JSON object, or an error.
absl::StatusOr<std::string> Measure(const BenchSimOraclesArgs& args,
                                    SimulatorOptions::Dynamics dynamics) {
  SimulatorOptions o;
  o.set_scale(args.scale);
  o.set_dynamics(dynamics);
  const SimWorld world(o);
  const SimDynamics dyn(world);
  SimEvalConfig config;
  config.users = args.users;
  config.days = o.days();
  config.history_days = args.history_days >= 0 ? args.history_days
                        : world.long_term()    ? o.days()
                                               : 0;
  ASSIGN_OR_RETURN(const std::shared_ptr<const HeldOutUsers> start,
                   HeldOutUsers::Start(world, config));
  ASSIGN_OR_RETURN(std::vector<SimTrace> behaviour,
                   SimulateUsers(world, config, nullptr, nullptr, start.get()));
  const GreedyOracle greedy(dyn);
  ASSIGN_OR_RETURN(std::vector<SimTrace> g,
                   SimulateUsers(world, config, nullptr, &greedy, start.get()));
  OracleObjective objective;  // The return-time task.
  objective.return_cap_hours = config.return_cap_hours;
  objective.session_length_scale = config.session_length_scale;
  objective.max_reward = config.max_reward;
  LookaheadParams params;
  params.candidates = args.candidates;
  params.rollouts = args.rollouts;
  params.sessions = args.sessions;
  const LookaheadOracle lookahead(dyn, objective, params);
  ASSIGN_OR_RETURN(std::vector<SimTrace> l,
                   SimulateUsers(world, config, nullptr, &lookahead, start.get()));
  const Figures fb = Summarize(behaviour, behaviour, config);
  const Figures fg = Summarize(g, behaviour, config);
  const Figures fl = Summarize(l, behaviour, config);
  auto pct = [](double a, double b) { return b != 0 ? 100 * (a - b) / std::abs(b) : 0.0; };
  return absl::StrFormat(
      "{\"behaviour\":%s,\"greedy_oracle\":%s,\"lookahead_oracle\":%s,"
      "\"gap_reward_pct\":%.2f,\"gap_return_hours_pct\":%.2f,\"gap_session_length_pct\":%.2f}",
      Json(fb), Json(fg), Json(fl), pct(fl.reward, fg.reward),
      pct(fl.return_hours, fg.return_hours), pct(fl.session_length, fg.session_length));
}

}  // namespace

int BenchSimOraclesCommand(const BenchSimOraclesArgs& args) {
  if (!(args.scale > 0) || args.users < 1 || args.candidates < 1 || args.rollouts < 1 ||
      args.sessions < 0) {
    std::cerr << "error: --scale must be > 0, --users, --candidates and --rollouts >= 1, "
                 "--sessions >= 0\n";
    return kExitUsage;
  }
  std::unique_ptr<tbb::global_control> threads;
  if (args.threads > 0) {
    threads = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    args.threads);
  }
  std::string line = absl::StrFormat(
      "{\"bench\":\"sim-oracles\",\"scale\":%g,\"users\":%d,\"candidates\":%d,\"rollouts\":%d,"
      "\"sessions\":%d,\"history_days\":%g",
      args.scale, args.users, args.candidates, args.rollouts, args.sessions, args.history_days);
  for (auto [name, d] : {std::pair{"static", SimulatorOptions::STATIC},
                         std::pair{"long_term", SimulatorOptions::LONG_TERM}}) {
    absl::StatusOr<std::string> f = Measure(args, d);
    if (!f.ok()) {
      std::cerr << "error: " << f.status().message() << "\n";
      return kExitRuntime;
    }
    absl::StrAppend(&line, ",\"", name, "\":", *f);
  }
  std::cout << line << "}\n";
  return kExitOk;
}

}  // namespace resact
