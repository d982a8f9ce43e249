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
#include "stages/features/session_history.h"
#include "stages/sim/sim_dynamics.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"

namespace resact {

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
  config_ = SimEvalConfigOfReplay(meta, dir.string());
  config_.users = options_.users();
  config_.days = options_.days() > 0 ? options_.days() : options_.sim().days();
  config_.user_id_offset = options_.user_id_offset();
  config_.session_length_scale = options_.session_length_scale();
  config_.max_reward = options_.max_reward();
  config_.bootstrap = options_.bootstrap();
  config_.history_days = options_.history_days() >= 0 ? options_.history_days()
                         : world_->long_term()        ? options_.sim().days()
                                                      : 0;
  ASSIGN_OR_RETURN(start_, HeldOutUsers::Start(*world_, config_));
  ASSIGN_OR_RETURN(baseline_, SimulateUsers(*world_, config_, nullptr, nullptr, start_.get()));
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
    ASSIGN_OR_RETURN(greedy_, SimulateUsers(*world_, config_, nullptr, &greedy, start_.get()));
  }
  const OracleObjective objective = ObjectiveOf(task);
  LookaheadParams params;
  params.candidates = options_.lookahead_candidates();
  params.rollouts = options_.lookahead_rollouts();
  params.sessions = options_.lookahead_sessions();
  const LookaheadOracle lookahead(*dynamics_, objective, params);
  const double t0 = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  ASSIGN_OR_RETURN(std::vector<SimTrace> traces,
                   SimulateUsers(*world_, config_, nullptr, &lookahead, start_.get()));
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
  ASSIGN_OR_RETURN(std::vector<SimTrace> traces,
                   SimulateUsers(*world_, config, snap.policy.get(), nullptr, start_.get()));
  const absl::Span<const SimTrace> baseline(baseline_.data(), config.users);
  const TaskRewardWeights w = RewardWeightsOf(snap.task);
  std::shared_ptr<MetricsBatch> m = MetricsForSnapshot(snap, "simulator");
  SummarizeTraces(traces, baseline, config, w.rt, w.sl, "sim_", m.get());
  SummarizeTraces(baseline, baseline, config, w.rt, w.sl, "sim_behaviour_", m.get());
  m->Add("sim_users", config.users);
  if (snap.final && options_.critic_states() > 0 && snap.policy->candidates() > 1) {
    ASSIGN_OR_RETURN(const CriticQuality q,
                     RateCritic(*world_, config_, *snap.policy, ObjectiveOf(snap.task),
                                options_.critic_states(), options_.critic_rollouts(),
                                options_.lookahead_sessions(), start_.get()));
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
