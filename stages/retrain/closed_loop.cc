// ClosedLoopSim: daily retraining in a closed loop with the simulated world
// (method.md section 6). The world's users 1..N (sim_population.h) live
// `days` days. Each day:
//   1. the current champion of WORKDIR/models serves the day's traffic with
//      Gaussian exploration around its action (exploration_std), so every
//      logged propensity is known; π_β serves day 0 and any day before the
//      first promotion;
//   2. the day's log (user, item, timestamp, feedback, logged log-density)
//      is ingested into the daily store as day-DDD (DailyIngest's
//      IngestDay with `ingest`);
//   3. a challenger is trained warm from the champion, judged against it and
//      maybe promoted (DailyRetrain's RetrainAfterNewestDay with `retrain`).
// Beside the served users, frozen references live the same days with the
// same users and response streams: π_β throughout and the greedy oracle
// (and, when asked, the lookahead oracle). At the end every population's
// true engagement per day, of the sessions starting that day, is written to
// OUT_DIR/days.csv and OUT_DIR/report.md (reward per request of the
// learner's task, return hours, session length, active users, with 95%
// bootstrap CIs over users; rewards use each user's own π_β averages and
// the store's δ_75%), with the figure OUT_DIR/engagement.png. On day 0 the
// served users and π_β's are the same users served alike, so their rows are
// equal.
//
// Re-running the same spec lives the same days again: the model that
// served each day and the feedback standardization of its states are kept
// in OUT_DIR/served/DAY, so the day's log comes out the same, its ingest is
// a no-op and its retraining is found in the history; a run killed anywhere
// (the fault points of DailyIngest and DailyRetrain, and loop.served: a
// day's server recorded and the day lived, its log not yet ingested)
// completes that way.
//
// No inputs, no outputs. Serial.
//
// Example:
//   stage {
//     name: "loop" type: "ClosedLoopSim"
//     options { [type.googleapis.com/resact.ClosedLoopOptions] {
//       sim { scale: 0.02 seed: 1 dynamics: LONG_TERM } days: 14
//       ingest { features { user_features: true engagement_features: true } }
//       retrain { learner { algo: "resact" steps: 2000 } window_days: 7 } } }
//   }
#include "stages/retrain/closed_loop.h"

#include <cmath>
#include <filesystem>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "glog/logging.h"
#include "graph/fault.h"
#include "graph/files.h"
#include "graph/progress.h"
#include "graph/status.h"
#include "stages/experiment/report_figures.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/policy/policy_io.h"
#include "stages/replay/daily_ingest.h"
#include "stages/sim/sim_population.h"
#include "stages/sim/simulator_log_source.h"
#include "storage/model_registry.h"
#include "storage/replay_store.h"
#include "storage/retrain_history.h"

namespace resact {
namespace fs = std::filesystem;
namespace {

// What served a day: π_β (version empty) or a champion, with the feedback
// standardization its states used.
struct Serving {
  std::string version;
  double feedback_mean = 0, feedback_std = 1;
};

std::string FormatServing(const Serving& s) {
  return absl::StrFormat("%s\n%.17g\n%.17g\n", s.version.empty() ? "-" : s.version,
                         s.feedback_mean, s.feedback_std);
}

absl::StatusOr<Serving> ParseServing(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  Serving s;
  if (lines.size() != 3 || !absl::SimpleAtod(lines[1], &s.feedback_mean) ||
      !absl::SimpleAtod(lines[2], &s.feedback_std)) {
    return absl::DataLossError(absl::StrCat(
        path, ": expected three lines (the served version or '-', the feedback mean and std); "
              "remove the loop's folder to start it again"));
  }
  if (lines[0] != "-") s.version = lines[0];
  return s;
}

absl::StatusOr<std::unique_ptr<ReplayStore>> OpenStore(const std::string& dir,
                                                       const DailyIngestOptions& o, bool write) {
  ReplayStoreOptions so;
  so.create = write;
  so.read_only = !write;
  so.session_state_float16 = o.session_state_float16();
  return ReplayStore::Open(dir, so);
}

// The store's feedback standardization now (0, 1 before its first day).
absl::StatusOr<Serving> StandardizationOf(const std::string& dir, const DailyIngestOptions& o) {
  Serving s;
  if (!fs::exists(dir)) return s;
  ASSIGN_OR_RETURN(auto store, OpenStore(dir, o, false));
  auto meta = store->ReadMeta();
  if (absl::IsNotFound(meta.status())) return s;
  RETURN_IF_ERROR(meta.status());
  s.feedback_mean = meta->reward().feedback_mean();
  s.feedback_std = meta->reward().feedback_std() > 0 ? meta->reward().feedback_std() : 1;
  return s;
}

// Who serves day `name`: what OUT/served/NAME recorded, else the current
// champion (copied there first, with the store's standardization now), else
// π_β. Day 0 is always π_β's.
absl::StatusOr<Serving> ServingOfDay(int day, const std::string& name, const std::string& out,
                                     const std::string& workdir, const std::string& replay_dir,
                                     const DailyIngestOptions& io,
                                     std::shared_ptr<const Policy>* policy) {
  const fs::path dir = fs::path(out) / "served" / name;
  const std::string file = (dir / "serving.txt").string();
  Serving s;
  if (fs::exists(file)) {
    ASSIGN_OR_RETURN(s, ParseServing(file));
  } else {
    if (day > 0) {
      auto champion = ModelRegistry::Open(workdir).Champion();
      if (champion.ok()) {
        s.version = *champion;
      } else if (!absl::IsNotFound(champion.status())) {
        return champion.status();
      }
    }
    ASSIGN_OR_RETURN(const Serving now, StandardizationOf(replay_dir, io));
    s.feedback_mean = now.feedback_mean;
    s.feedback_std = now.feedback_std;
    // Staged, then put in place in one step: a crash leaves the day unserved
    // or served by this record, never half of it.
    const std::string staging = dir.string() + ".staging";
    std::error_code ec;
    fs::remove_all(staging, ec);
    fs::create_directories(staging, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", staging, ": ", ec.message()));
    if (!s.version.empty()) {
      ASSIGN_OR_RETURN(const std::string vdir, ModelRegistry::Open(workdir).VersionDir(s.version));
      fs::copy(fs::path(vdir) / "model", fs::path(staging) / "model",
               fs::copy_options::recursive, ec);
      if (ec) {
        return absl::InternalError(
            absl::StrCat("cannot copy ", vdir, "/model to ", staging, ": ", ec.message()));
      }
    }
    RETURN_IF_ERROR(
        WriteFileAtomically((fs::path(staging) / "serving.txt").string(), FormatServing(s)));
    RETURN_IF_ERROR(ReplaceDirectory(staging, dir.string()));
  }
  policy->reset();
  if (!s.version.empty()) {
    ASSIGN_OR_RETURN(*policy, LoadPolicy((dir / "model").string()));
  }
  return s;
}

std::string Ci(const MetricsBatch& m, const std::string& name, const char* fmt) {
  return absl::StrCat(absl::StrFormat(fmt, m.Get(name)), " [",
                      absl::StrFormat(fmt, m.Get(name + "_ci_low")), ", ",
                      absl::StrFormat(fmt, m.Get(name + "_ci_high")), "]");
}

const char* PopulationTitle(const std::string& p) {
  if (p == "served") return "served (champion)";
  if (p == "pi_beta") return "π_β";
  if (p == "greedy") return "greedy oracle";
  return "lookahead oracle";
}

std::string MakeTable(const ClosedLoopReport& r, const std::string& task) {
  std::string t = absl::StrCat(
      "True engagement per day of the sessions that start that day (task ", task,
      "; 95% bootstrap CI over users). Reward: the task's reward per request.\n\n"
      "| day | served by | decision after it | requests |");
  for (const std::string& p : r.populations) {
    absl::StrAppend(&t, " ", PopulationTitle(p), " reward |");
  }
  absl::StrAppend(&t,
                  " served return h | π_β return h | served session length | π_β session "
                  "length | served active users | π_β active users |\n|---|---|---|---:|");
  for (size_t p = 0; p < r.populations.size(); ++p) absl::StrAppend(&t, "---:|");
  absl::StrAppend(&t, "---:|---:|---:|---:|---:|---:|\n");
  for (size_t d = 0; d < r.served_by.size(); ++d) {
    const RetrainRun& run = r.runs[d];
    absl::StrAppend(&t, "| ", d, " | ", r.served_by[d], " | ", run.decision(), " ",
                    run.challenger(), " | ", r.rows[d], " |");
    for (size_t p = 0; p < r.populations.size(); ++p) {
      absl::StrAppend(&t, " ", Ci(r.metrics[p][d], "reward", "%.4f"), " |");
    }
    const MetricsBatch& s = r.metrics[0][d];
    const MetricsBatch& b = r.metrics[1][d];
    absl::StrAppendFormat(&t, " %.2f | %.2f | %.2f | %.2f | %.0f | %.0f |\n",
                          s.Get("return_hours"), b.Get("return_hours"),
                          s.Get("session_length"), b.Get("session_length"),
                          s.Get("active_users"), b.Get("active_users"));
  }
  return t;
}

// OUT/engagement.png: per day, reward per request, return hours and session
// length of every population, with shaded CIs. "" when gnuplot fails.
std::string WriteFigure(const ClosedLoopReport& r, const std::string& out,
                        const std::string& task) {
  const char* metrics[] = {"reward", "return_hours", "session_length"};
  const char* labels[] = {"reward per request", "return hours", "session length"};
  std::vector<std::string> data;
  for (size_t p = 0; p < r.populations.size(); ++p) {
    std::string rows = "# day, then per metric: mean low high\n";
    for (size_t d = 0; d < r.metrics[p].size(); ++d) {
      absl::StrAppend(&rows, d);
      for (const char* m : metrics) {
        absl::StrAppendFormat(&rows, " %.9g %.9g %.9g", r.metrics[p][d].Get(m),
                              r.metrics[p][d].Get(absl::StrCat(m, "_ci_low")),
                              r.metrics[p][d].Get(absl::StrCat(m, "_ci_high")));
      }
      absl::StrAppend(&rows, "\n");
    }
    data.push_back((fs::path(out) / absl::StrCat("engagement_", r.populations[p], ".dat")).string());
    if (!WriteFileAtomically(data.back(), rows).ok()) return "";
  }
  const std::string png = (fs::path(out) / "engagement.png").string();
  std::string gp = absl::StrCat(
      "set terminal pngcairo noenhanced size 1500,480 font ',11'\nset output '", png,
      "'\nset multiplot layout 1,3 title 'Closed loop, task ", task,
      ": true engagement per day (sessions starting that day; shaded 95% CI)'\n"
      "set xlabel 'day'\nset xtics 1\nset grid\nset key below\n");
  for (int m = 0; m < 3; ++m) {
    std::string bands, lines;
    for (size_t p = 0; p < data.size(); ++p) {
      const CurveStyle style = CurveStyleOf(static_cast<int>(p));
      const int c = 2 + 3 * m;
      absl::StrAppendFormat(&bands,
                            "  '%s' using 1:%d:%d with filledcurves fs transparent solid 0.15 "
                            "noborder lc rgb '%s' notitle, \\\n",
                            data[p], c + 1, c + 2, style.color);
      absl::StrAppendFormat(&lines, "%s  '%s' using 1:%d with linespoints lw 2 pt 7 lc rgb '%s' "
                                    "dt %d title '%s'",
                            lines.empty() ? "" : ", \\\n", data[p], c, style.color, style.dash,
                            PopulationTitle(r.populations[p]));
    }
    absl::StrAppend(&gp, "set ylabel '", labels[m], "'\nplot \\\n", bands, lines, "\n");
  }
  absl::StrAppend(&gp, "unset multiplot\n");
  const std::string script = (fs::path(out) / "engagement.gp").string();
  if (!WriteFileAtomically(script, gp).ok()) return "";
  const std::string cmd = absl::StrCat("gnuplot '", script, "' 2>&1");
  if (std::system(cmd.c_str()) != 0 || !fs::exists(png)) return "";
  return png;
}

}  // namespace

absl::Status CheckClosedLoopOptions(const ClosedLoopOptions& o) {
  if (!o.has_sim()) {
    return absl::InvalidArgumentError(
        "option 'sim': required (the simulated world the loop serves, e.g. sim { scale: 0.02 "
        "seed: 1 dynamics: LONG_TERM })");
  }
  if (o.days() < 1) return absl::InvalidArgumentError("option 'days': must be >= 1");
  if (o.users() < 0) return absl::InvalidArgumentError("option 'users': must be >= 0 (0: all)");
  if (!(o.exploration_std() >= 0)) {
    return absl::InvalidArgumentError("option 'exploration_std': must be >= 0 (0: π_β's)");
  }
  if (o.out_dir().empty()) return absl::InvalidArgumentError("option 'out_dir': empty");
  if (o.ingest().has_day() || o.ingest().reingest()) {
    return absl::InvalidArgumentError(
        "option 'ingest': the loop names its days itself (day-000, ...); leave ingest.day and "
        "ingest.reingest unset");
  }
  absl::Status s = CheckDailyRetrainOptions(o.retrain());
  if (!s.ok()) return Annotate(s, "option 'retrain'");
  return absl::OkStatus();
}

absl::StatusOr<ClosedLoopReport> RunClosedLoop(const ClosedLoopOptions& options,
                                               const std::string& workdir,
                                               const RetrainEnv& env) {
  RETURN_IF_ERROR(CheckClosedLoopOptions(options));
  ClosedLoopOptions o = options;
  if (!o.retrain().has_sim()) *o.mutable_retrain()->mutable_sim() = o.sim();
  const std::string& who = env.label;
  const SimWorld world(o.sim());
  const SimDynamics dynamics(world);
  const int64_t users = o.users() == 0 ? world.num_users() : o.users();
  if (users > world.num_users()) {
    return absl::InvalidArgumentError(absl::StrCat("option 'users': ", users,
                                                   " asked for; the world has ",
                                                   world.num_users(), " at scale ",
                                                   o.sim().scale()));
  }
  const double explore = o.exploration_std() > 0 ? o.exploration_std() : o.sim().behaviour_std();
  const DailyIngestOptions& io = o.ingest();
  const StateFeaturesOptions& f = io.features();
  std::shared_ptr<UserFeatureTable> profiles;
  if (f.user_features()) profiles = SimulatedUserProfiles(world);

  // How the populations build s_h: as the daily store does.
  SimEvalConfig pc;
  pc.state.user_ema_alpha = f.user_ema_alpha();
  pc.state.engagement = f.engagement_features();
  pc.state.engagement_session_alpha = f.engagement_session_alpha();
  pc.state.engagement_feedback_alpha = f.engagement_feedback_alpha();
  pc.static_user_dim = f.user_features() ? world.dim() : 0;
  pc.engagement_dim = f.engagement_features() ? FeatureLayout::kEngagementDim : 0;

  const std::string task = learners::TaskName(o.retrain().learner().task());
  const TaskRewardWeights w = RewardWeightsOf(task);
  OracleObjective objective;
  objective.w_rt = w.rt;
  objective.w_sl = w.sl;
  const GreedyOracle greedy(dynamics);
  const LookaheadOracle lookahead(dynamics, objective, LookaheadParams{});
  ClosedLoopReport report;
  std::vector<std::unique_ptr<SimPopulation>> pops;
  std::vector<const ItemChooser*> choosers;
  auto add = [&](const std::string& name, const ItemChooser* chooser) -> absl::Status {
    ASSIGN_OR_RETURN(std::unique_ptr<SimPopulation> p,
                     SimPopulation::Start(world, pc, users, o.days()));
    pops.push_back(std::move(p));
    choosers.push_back(chooser);
    report.populations.push_back(name);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(add("served", nullptr));
  RETURN_IF_ERROR(add("pi_beta", nullptr));
  if (o.greedy_oracle()) RETURN_IF_ERROR(add("greedy", &greedy));
  if (o.lookahead_oracle()) RETURN_IF_ERROR(add("lookahead", &lookahead));

  fs::path replay(io.dir());
  if (replay.is_relative()) replay = fs::path(workdir) / replay;
  fs::path out(o.out_dir());
  if (out.is_relative()) out = fs::path(workdir) / out;
  std::error_code ec;
  fs::create_directories(out / "served", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", out.string(), ": ", ec.message()));
  LOG(INFO) << who << " closed loop: " << users << " users of the world (seed " << o.sim().seed()
            << ", " << SimulatorOptions::Dynamics_Name(o.sim().dynamics()) << "), " << o.days()
            << " days, champion exploration std " << explore << "; store " << replay.string()
            << ", report " << out.string();

  for (int day = 0; day < o.days(); ++day) {
    if (env.cancelled && env.cancelled()) {
      return absl::CancelledError(absl::StrCat(who, ": cancelled before day ", day));
    }
    const std::string name = absl::StrFormat("day-%03d", day);
    if (env.progress != nullptr) env.progress->SetPhase("serving a day");
    std::shared_ptr<const Policy> policy;
    ASSIGN_OR_RETURN(const Serving serving, ServingOfDay(day, name, out.string(), workdir,
                                                         replay.string(), io, &policy));
    SimDayLog log;
    for (size_t p = 0; p < pops.size(); ++p) {
      SimServing s;
      s.chooser = choosers[p];
      if (p == 0) {
        s.policy = policy.get();
        s.exploration_std = explore;
      }
      absl::Status st = pops[p]->LiveDay(day, s, serving.feedback_mean, serving.feedback_std,
                                   p == 0 ? &log : nullptr);
      if (!st.ok()) return Annotate(st, absl::StrCat(name, ", ", report.populations[p]));
    }
    FaultPoint("loop.served");
    report.served_by.push_back(serving.version.empty() ? "π_β" : serving.version);
    report.rows.push_back(static_cast<int64_t>(log.size()));

    // The day's log into the daily store.
    if (env.progress != nullptr) env.progress->SetPhase("ingesting a day");
    DayRequests requests;
    requests.name = name;
    requests.user = std::move(log.user);
    requests.item = std::move(log.item);
    requests.ts_ms = std::move(log.ts_ms);
    requests.feedback = std::move(log.feedback);
    requests.logprob = std::move(log.logprob);
    requests.files = {absl::StrCat("the closed loop's ", name, " (served by ",
                                   report.served_by.back(), ")")};
    {
      ASSIGN_OR_RETURN(auto store, OpenStore(replay.string(), io, true));
      ASSIGN_OR_RETURN(const DayIngestResult r,
                       IngestDay(*store, io, world.items(), profiles.get(), requests));
      RETURN_IF_ERROR(store->Flush());
      RETURN_IF_ERROR(store->Close());
      LOG(INFO) << who << " " << name << ": served by " << report.served_by.back() << ", "
                << requests.size() << " requests; " << DayActionName(r.action) << ", "
                << r.record.new_sessions() << " new sessions, " << r.record.pending_returns()
                << " pending returns; " << pops[0]->active() << " of " << users
                << " users not churned (π_β's: " << pops[1]->active() << ")";
    }

    // The retraining after it (found in the history on a re-run).
    ASSIGN_OR_RETURN(const RetrainHistory history, ReadRetrainHistory(workdir));
    RetrainRun run;
    if (const RetrainRun* done = FindRetrainRun(history, name)) {
      run = *done;
    } else {
      ASSIGN_OR_RETURN(run, RetrainAfterNewestDay(o.retrain(), workdir, replay.string(), env));
      if (run.day() != name) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the daily store ", replay.string(), " has days after ", name, " (its newest is ",
            run.day(), ") but the history has no run after ", name,
            ": the store is not this loop's; use an empty workdir"));
      }
    }
    report.runs.push_back(run);
  }

  // The truth, per population and day, with each user's π_β averages.
  ReplayMeta meta;
  {
    ASSIGN_OR_RETURN(auto store, OpenStore(replay.string(), io, false));
    ASSIGN_OR_RETURN(meta, store->ReadMeta());
  }
  SimEvalConfig sc = SimEvalConfigOfReplay(meta, replay.string());
  sc.bootstrap = o.bootstrap();
  const std::vector<SimTrace> baseline = pops[1]->Traces();
  for (const auto& p : pops) {
    const std::vector<SimTrace> traces = p->Traces();
    std::vector<MetricsBatch> per_day(o.days());
    for (int day = 0; day < o.days(); ++day) {
      SummarizeDay(traces, baseline, sc, o.sim(), day, w.rt, w.sl, "", &per_day[day]);
    }
    report.metrics.push_back(std::move(per_day));
  }
  std::string csv = "day,population,served_by";
  for (const std::string& n : report.metrics[0][0].name) absl::StrAppend(&csv, ",", n);
  absl::StrAppend(&csv, "\n");
  for (size_t p = 0; p < pops.size(); ++p) {
    for (int day = 0; day < o.days(); ++day) {
      absl::StrAppend(&csv, day, ",", report.populations[p], ",",
                      p == 0 ? report.served_by[day] : report.populations[p]);
      for (double v : report.metrics[p][day].value) absl::StrAppendFormat(&csv, ",%.9g", v);
      absl::StrAppend(&csv, "\n");
    }
  }
  RETURN_IF_ERROR(WriteFileAtomically((out / "days.csv").string(), csv));
  report.table = MakeTable(report, task);
  RETURN_IF_ERROR(WriteFileAtomically((out / "report.md").string(), report.table));
  report.figure = WriteFigure(report, out.string(), task);
  LOG(INFO) << who << " closed loop done: " << (out / "report.md").string()
            << (report.figure.empty() ? " (no figure: gnuplot failed)"
                                      : absl::StrCat(", ", report.figure))
            << "\n"
            << report.table;
  return report;
}

// ---- The stage ----

absl::Status ClosedLoopSim::Init() { return CheckClosedLoopOptions(options_); }

absl::Status ClosedLoopSim::Open(const StageContext& ctx) {
  ctx_ = &ctx;
  return absl::OkStatus();
}

absl::Status ClosedLoopSim::Generate(Emitter&) {
  RetrainEnv env;
  env.progress = &ctx_->progress();
  env.cancelled = [this] { return ctx_->cancelled(); };
  env.label = absl::StrCat("[", ctx_->stage_name(), "]");
  return RunClosedLoop(options_, ctx_->workdir(), env).status();
}

RESACT_REGISTER_STAGE(ClosedLoopSim);

}  // namespace resact
