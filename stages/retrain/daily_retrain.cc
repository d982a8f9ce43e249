// DailyRetrain: the training and promotion half of incremental daily
// retraining (method.md section 6). On the ReplayHandle of a daily store
// (DailyIngest's output) it runs once after the manifest's newest day D:
//   1. the window: the sessions of the train users that start within the
//      newest window_days days (the manifest's days), drawn with weight
//      2^(−age / recency_half_life_days) when that is set
//      (learners/training/transition_source.h ReplayWindowSource);
//   2. the challenger warm-starts from the champion's checkpoint (weights,
//      optimizer state, state normalization, step) and trains learner.steps
//      more steps on the window; the first run, with no champion, starts
//      from scratch. RUNS_DIR/D holds its checkpoints, metrics.jsonl, model/
//      and the behaviour model refit on the same window (behaviour.pt);
//   3. the challenger becomes the next version of WORKDIR/models
//      (storage/model_registry.h), with its parent and day;
//   4. the judging: champion and challenger on the same trajectories, the
//      test users' sessions of the newest judge_days days, by the paired
//      comparison of the evaluation suite (off_policy_data.h
//      ComparePolicies) with the chosen estimator; on simulated logs (sim
//      set) the simulator's true value of both and of π_β beside it;
//   5. promotion when the lower end of the 95% CI of challenger − champion
//      exceeds `margin` (the first model is promoted), in one atomic
//      replacement of models/CHAMPION; versions beyond keep_versions are
//      pruned;
//   6. a row appended to WORKDIR/daily/history.pbtxt (`resact history`).
// A day already in the history is a no-op. A run killed anywhere re-runs to
// the same end: training resumes from RUNS_DIR/D/checkpoint-latest.pt (its
// parent is recorded in RUNS_DIR/D/parent.pbtxt), the version of RUNS_DIR/D
// is found in the registry instead of added twice, and a promotion killed
// before its rename left the old champion. Fault points (graph/fault.h):
// train.step and train.checkpoint while training, model.add, retrain.judge
// (the version is in the registry, not yet judged), model.promote, and
// retrain.promoted (the decision is in place, the history row not yet).
//
// Input: 0 replay (ReplayHandle). No outputs. Serial.
//
// Example:
//   stage {
//     name: "retrain" type: "DailyRetrain" input_stream: "replay_ready"
//     options { [type.googleapis.com/resact.DailyRetrainOptions] {
//       learner { algo: "resact" steps: 2000 }
//       window_days: 7 estimator: WIS margin: 0 } }
//   }
#include "stages/retrain/daily_retrain.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "google/protobuf/text_format.h"
#include "graph/fault.h"
#include "graph/files.h"
#include "graph/progress.h"
#include "graph/status.h"
#include "stages/evaluators/behaviour_model.h"
#include "stages/evaluators/off_policy_data.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/policy/policy_io.h"
#include "stages/learners/policy/torch_policy.h"
#include "stages/learners/training/trainer.h"
#include "stages/learners/training/transition_source.h"
#include "stages/replay/daily_ingest.h"
#include "stages/sim/sim_rollout.h"
#include "stages/sim/sim_world.h"
#include "storage/model_registry.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"
#include "storage/retrain_history.h"

namespace resact {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kDayMs = 86400000;

// The earliest first request of the newest `days` days of `manifest`.
int64_t WindowStartMs(const DayManifest& manifest, int days) {
  const int64_t newest = manifest.day(manifest.day_size() - 1).ordinal();
  int64_t from = std::numeric_limits<int64_t>::max();
  for (const DayRecord& d : manifest.day()) {
    if (d.ordinal() > newest - days) from = std::min(from, d.first_ms());
  }
  return from;
}

OpeEstimator EstimatorOf(DailyRetrainOptions::Estimator e) {
  switch (e) {
    case DailyRetrainOptions::NCIS:
      return OpeEstimator::kNcis;
    case DailyRetrainOptions::FQE:
      return OpeEstimator::kFqe;
    case DailyRetrainOptions::DR:
      return OpeEstimator::kDr;
    default:
      return OpeEstimator::kWis;
  }
}

std::string EstimatorLabel(const DailyRetrainOptions& o) {
  std::string name = DailyRetrainOptions::Estimator_Name(o.estimator());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return absl::StrCat(name, o.scale() == DailyRetrainOptions::PER_SESSION ? " per session"
                                                                            : " per request",
                      o.true_propensity() ? " (true π_β)" : "");
}

// The run's parent (the champion it warm-starts from) and its target step,
// recorded when the run starts so that a resumed run keeps them.
struct Parent {
  std::string version;  // Empty: trained from scratch.
  int64_t target_steps = 0;
};

absl::StatusOr<Parent> ReadOrRecordParent(const std::string& run_dir, const Parent& now,
                                          bool resumed) {
  const std::string path = (fs::path(run_dir) / "parent.pbtxt").string();
  auto text = ReadFileToString(path);
  ModelVersionInfo info;
  if (text.ok()) {
    if (!google::protobuf::TextFormat::ParseFromString(*text, &info)) {
      return absl::DataLossError(absl::StrCat(path, " is not a text-format ModelVersionInfo"));
    }
    return Parent{info.parent(), info.steps()};
  }
  if (!absl::IsNotFound(text.status())) return text.status();
  if (resumed) {
    return absl::DataLossError(absl::StrCat(
        run_dir, " has a checkpoint but no parent.pbtxt (the champion it warm-started from); ",
        "remove the folder to train that day's challenger again"));
  }
  info.set_parent(now.version);
  info.set_steps(now.target_steps);
  std::string out;
  google::protobuf::TextFormat::PrintToString(info, &out);
  RETURN_IF_ERROR(WriteFileAtomically(path, out));
  return now;
}

// The registry version trained in `run_dir`, or empty.
absl::StatusOr<std::string> VersionOfRun(const ModelRegistry& registry, const std::string& run_dir) {
  ASSIGN_OR_RETURN(std::vector<ModelVersionEntry> versions, registry.List());
  for (const ModelVersionEntry& v : versions) {
    if (v.info.source() == run_dir) return v.info.version();
  }
  return std::string();
}

// The simulator's true task reward per request of `policy` (null: π_β).
struct Truth {
  std::unique_ptr<SimWorld> world;
  SimEvalConfig config;
  std::shared_ptr<const HeldOutUsers> start;
  std::vector<SimTrace> baseline;
  TaskRewardWeights w;

  absl::StatusOr<double> Of(const Policy* policy) const {
    std::vector<SimTrace> traces;
    if (policy == nullptr) {
      traces = baseline;
    } else {
      ASSIGN_OR_RETURN(traces, SimulateUsers(*world, config, policy, nullptr, start.get()));
    }
    MetricsBatch m;
    SummarizeTraces(traces, baseline, config, w.rt, w.sl, "", &m);
    const double reward = m.Get("reward");
    if (std::isnan(reward)) return absl::InternalError("the simulator's summary has no 'reward'");
    return reward;
  }
};

absl::StatusOr<std::unique_ptr<Truth>> MakeTruth(const DailyRetrainOptions& o,
                                                 const ReplayMeta& meta, const std::string& dir,
                                                 const std::string& task) {
  auto t = std::make_unique<Truth>();
  t->world = std::make_unique<SimWorld>(o.sim());
  // The store's item table must be the world's: truth from another world
  // would be silently wrong.
  {
    ReplayStoreOptions so;
    so.read_only = true;
    ASSIGN_OR_RETURN(auto store, ReplayStore::Open(dir, so));
    ASSIGN_OR_RETURN(const ItemTable items,
                     ReadReplayItems(*store, meta.layout().emb_dim(), meta.items()));
    const ItemTable& w = t->world->items();
    if (items.dim != w.dim || items.item_id != w.item_id || items.embedding != w.embedding) {
      return absl::FailedPreconditionError(absl::StrCat(
          "option 'sim': the simulated world (seed ", o.sim().seed(), ", ", w.size(),
          " items of dimension ", w.dim, ") is not the one whose log is in ", dir, " (",
          items.size(), " items of dimension ", items.dim,
          "); set retrain.sim as the log's SimulatorLogSource sim, or unset it"));
    }
  }
  t->config = SimEvalConfigOfReplay(meta, dir);
  t->config.users = o.truth_users();
  t->config.days = o.truth_days();
  t->config.bootstrap = o.bootstrap();
  t->config.history_days = t->world->long_term() ? o.sim().days() : 0;
  t->w = RewardWeightsOf(task);
  ASSIGN_OR_RETURN(t->start, HeldOutUsers::Start(*t->world, t->config));
  ASSIGN_OR_RETURN(t->baseline,
                   SimulateUsers(*t->world, t->config, nullptr, nullptr, t->start.get()));
  return t;
}

}  // namespace

absl::Status CheckDailyRetrainOptions(const DailyRetrainOptions& o) {
  if (!o.has_learner() || o.learner().algo().empty()) {
    return absl::InvalidArgumentError("option 'learner.algo': required (e.g. resact, td3_bc)");
  }
  absl::Status s = learners::CheckLearnerOptions(o.learner());
  if (!s.ok()) return Annotate(s, "option 'learner'");
  if (o.learner().steps() < 1) {
    return absl::InvalidArgumentError("option 'learner.steps': must be >= 1 (steps per run)");
  }
  if (o.window_days() < 1) return absl::InvalidArgumentError("option 'window_days': must be >= 1");
  if (o.judge_days() < 1) return absl::InvalidArgumentError("option 'judge_days': must be >= 1");
  if (!(o.recency_half_life_days() >= 0)) {
    return absl::InvalidArgumentError("option 'recency_half_life_days': must be >= 0");
  }
  if ((o.estimator() == DailyRetrainOptions::FQE || o.estimator() == DailyRetrainOptions::DR) &&
      o.fqe().steps() < 1) {
    return absl::InvalidArgumentError(
        "option 'fqe.steps': the FQE and DR estimators need FQE steps >= 1");
  }
  if (o.keep_versions() < 1) {
    return absl::InvalidArgumentError("option 'keep_versions': must be >= 1");
  }
  if (o.runs_dir().empty()) return absl::InvalidArgumentError("option 'runs_dir': empty");
  return absl::OkStatus();
}

absl::StatusOr<RetrainRun> RetrainAfterNewestDay(const DailyRetrainOptions& o,
                                                 const std::string& workdir,
                                                 const std::string& replay_dir,
                                                 const RetrainEnv& env) {
  RETURN_IF_ERROR(CheckDailyRetrainOptions(o));
  const auto t0 = std::chrono::steady_clock::now();
  const std::string& who = env.label;
  Progress* progress = env.progress;
  auto phase = [&](const char* p) {
    if (progress != nullptr) progress->SetPhase(p);
  };

  // The store's manifest and meta.
  DailyState state;
  ReplayMeta meta;
  {
    ReplayStoreOptions so;
    so.read_only = true;
    ASSIGN_OR_RETURN(auto store, ReplayStore::Open(replay_dir, so));
    auto st = ReadDailyState(*store);
    if (absl::IsNotFound(st.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("replay ", replay_dir,
                       " is not a daily store (no manifest): DailyRetrain takes the output of "
                       "DailyIngest"));
    }
    RETURN_IF_ERROR(st.status());
    state = std::move(*st);
    ASSIGN_OR_RETURN(meta, store->ReadMeta());
    RETURN_IF_ERROR(CheckReplayComplete(meta, replay_dir));
  }
  const DayManifest& manifest = state.manifest();
  if (manifest.day_size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat("daily store ", replay_dir, " has no day"));
  }
  const DayRecord& day = manifest.day(manifest.day_size() - 1);
  ASSIGN_OR_RETURN(const RetrainHistory history, ReadRetrainHistory(workdir));
  if (const RetrainRun* done = FindRetrainRun(history, day.name())) {
    LOG(INFO) << who << " already retrained after day " << day.name() << " ("
              << done->decision() << " " << done->challenger() << "); nothing to do";
    return *done;
  }

  // The simulator's world, checked against the store before any training.
  std::unique_ptr<Truth> truth;
  if (o.has_sim()) {
    ASSIGN_OR_RETURN(truth, MakeTruth(o, meta, replay_dir, learners::TaskName(o.learner().task())));
  }

  RetrainRun run;
  run.set_day(day.name());
  run.set_rows(day.rows());
  run.set_new_sessions(day.new_sessions());
  run.set_completed_returns(day.completed_returns());
  run.set_pending_returns(day.pending_returns());
  run.set_censored_returns(day.censored_returns());
  run.set_window_days(o.window_days());
  run.set_estimator(EstimatorLabel(o));
  run.set_margin(o.margin());

  ModelRegistry registry = ModelRegistry::Open(workdir);
  std::string champion;
  {
    auto c = registry.Champion();
    if (c.ok()) {
      champion = *c;
    } else if (!absl::IsNotFound(c.status())) {
      return c.status();
    }
  }
  fs::path runs(o.runs_dir());
  if (runs.is_relative()) runs = fs::path(workdir) / runs;
  const std::string run_dir = (runs / day.name()).string();
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", run_dir, ": ", ec.message()));

  // 1. The window.
  phase("loading window");
  learners::ReplayWindowOptions wo;
  wo.min_session_start_ms = WindowStartMs(manifest, o.window_days());
  wo.half_life_days = o.recency_half_life_days();
  wo.memory_budget_mb = o.memory_budget_mb();
  ASSIGN_OR_RETURN(std::shared_ptr<const learners::ReplayWindowSource> window,
                   learners::ReplayWindowSource::Load(replay_dir, wo));
  run.set_window_transitions(window->size());

  // 2. The challenger, warm from its parent.
  LearnerOptions lo = o.learner();
  lo.set_resume(true);
  if (lo.torch_threads() > 0) torch::set_num_threads(lo.torch_threads());
  ASSIGN_OR_RETURN(std::unique_ptr<learners::Trainer> trainer,
                   learners::Trainer::Create(lo, window, run_dir));
  Parent parent;
  if (!trainer->resumed()) {
    parent.version = champion;
    if (!champion.empty()) {
      ASSIGN_OR_RETURN(const std::string cdir, registry.VersionDir(champion));
      const std::string ckpt = (fs::path(cdir) / "checkpoint.pt").string();
      if (!fs::exists(ckpt)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the champion ", champion, " has no checkpoint (", ckpt,
            ") to warm-start from: it was not trained by DailyRetrain; promote a version "
            "that has one (`resact model list`)"));
      }
      RETURN_IF_ERROR(trainer->LoadCheckpoint(ckpt));
    }
    parent.target_steps = trainer->step() + lo.steps();
  }
  ASSIGN_OR_RETURN(parent, ReadOrRecordParent(run_dir, parent, trainer->resumed()));
  // The champion judged against is the run's parent, also when a re-run
  // finds the challenger already promoted.
  run.set_champion(parent.version);
  run.set_total_steps(parent.target_steps);
  run.set_steps(lo.steps());
  phase("training");
  if (progress != nullptr) progress->SetTotal(static_cast<double>(parent.target_steps), "steps");
  LOG(INFO) << who << " day " << day.name() << ": challenger "
            << (parent.version.empty() ? "from scratch" : "warm from " + parent.version) << ", "
            << lo.algo() << " to step " << parent.target_steps << " on " << window->size()
            << " train transitions of the newest " << o.window_days() << " days; run dir "
            << run_dir;
  RETURN_IF_ERROR(trainer->Run(parent.target_steps, [&](int64_t step) -> absl::Status {
    if (progress != nullptr) progress->SetDone(static_cast<double>(step));
    if (env.cancelled && env.cancelled()) {
      return absl::CancelledError(absl::StrCat(who, ": cancelled at step ", step));
    }
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(std::shared_ptr<learners::TorchPolicy> challenger_policy, trainer->Snapshot());
  const std::string model_dir = (fs::path(run_dir) / "model").string();
  RETURN_IF_ERROR(SavePolicy(*challenger_policy, model_dir));

  // The behaviour model, refit on the window.
  const std::string behaviour_path = (fs::path(run_dir) / "behaviour.pt").string();
  if (!fs::exists(behaviour_path)) {
    phase("fitting behaviour");
    const BehaviourFitOptions fo = BehaviourFitOptionsOf(o.behaviour());
    ASSIGN_OR_RETURN(auto model, BehaviourModel::Fit(window->reader(), fo));
    RETURN_IF_ERROR(model->Save(behaviour_path));
  }
  window.reset();
  trainer.reset();

  // 3. The version.
  ASSIGN_OR_RETURN(std::string version, VersionOfRun(registry, run_dir));
  if (version.empty()) {
    ModelVersionInfo info;
    info.set_algo(lo.algo());
    info.set_steps(parent.target_steps);
    info.set_day(day.name());
    info.set_parent(parent.version);
    info.set_source(run_dir);
    ASSIGN_OR_RETURN(version,
                     registry.AddVersion(model_dir,
                                         (fs::path(run_dir) / "checkpoint-latest.pt").string(),
                                         info));
  }
  run.set_challenger(version);
  FaultPoint("retrain.judge");

  // 4. The judging.
  bool promote = false;
  std::string reason;
  const std::string task = learners::TaskName(lo.task());
  std::shared_ptr<const Policy> champion_policy;
  if (!parent.version.empty()) {
    ASSIGN_OR_RETURN(const std::string cdir, registry.VersionDir(parent.version));
    ASSIGN_OR_RETURN(champion_policy, LoadPolicy((fs::path(cdir) / "model").string()));
  }
  if (champion_policy != nullptr) {
    phase("judging");
    OffPolicyOptions opo;
    opo.cap = o.cap();
    opo.sigma = o.sigma();
    opo.bootstrap = o.bootstrap();
    opo.seed = o.seed();
    opo.fqe = o.fqe();
    opo.memory_budget_bytes = static_cast<uint64_t>(o.memory_budget_mb()) << 20;
    opo.min_session_start_ms = WindowStartMs(manifest, o.judge_days());
    ASSIGN_OR_RETURN(std::unique_ptr<OffPolicyData> data,
                     OffPolicyData::Load(replay_dir, behaviour_path, opo));
    ASSIGN_OR_RETURN(const PairedDifference d,
                     ComparePolicies(*data, *champion_policy, *challenger_policy, task,
                                     EstimatorOf(o.estimator()),
                                     o.scale() == DailyRetrainOptions::PER_SESSION
                                         ? OpeScale::kPerSession
                                         : OpeScale::kPerRequest,
                                     o.true_propensity()));
    run.set_trajectories(d.trajectories);
    run.set_champion_value(d.champion);
    run.set_champion_low(d.champion_low);
    run.set_champion_high(d.champion_high);
    run.set_challenger_value(d.challenger);
    run.set_challenger_low(d.challenger_low);
    run.set_challenger_high(d.challenger_high);
    run.set_difference(d.difference);
    run.set_difference_low(d.ci_low);
    run.set_difference_high(d.ci_high);
    promote = ChallengerWins(d, o.margin());
    reason = absl::StrFormat("%s: challenger − champion %.4f, 95%% CI [%.4f, %.4f] %s margin %g",
                             run.estimator(), d.difference, d.ci_low, d.ci_high,
                             promote ? "above" : "not above", o.margin());
  } else {
    promote = true;
    reason = "first model";
  }
  if (truth != nullptr) {
    phase("simulating truth");
    ASSIGN_OR_RETURN(const double b, truth->Of(nullptr));
    run.set_behaviour_true(b);
    ASSIGN_OR_RETURN(const double c, truth->Of(challenger_policy.get()));
    run.set_challenger_true(c);
    if (champion_policy != nullptr) {
      ASSIGN_OR_RETURN(const double p, truth->Of(champion_policy.get()));
      run.set_champion_true(p);
    }
  }

  // 5. The decision.
  if (promote) {
    ASSIGN_OR_RETURN(const ModelRegistryState rs, registry.State());
    if (rs.champion() != version) RETURN_IF_ERROR(registry.Promote(version, reason));
  }
  run.set_decision(promote ? "promoted" : "kept");
  run.set_reason(reason);
  ASSIGN_OR_RETURN(const std::vector<std::string> pruned, registry.Prune(o.keep_versions()));
  FaultPoint("retrain.promoted");

  // 6. The history.
  run.set_unix_seconds(absl::ToUnixSeconds(absl::Now()));
  run.set_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  RETURN_IF_ERROR(AppendRetrainRun(workdir, run));
  LOG(INFO) << who << " day " << day.name() << ": " << version << " "
            << (promote ? "promoted" : "not promoted") << " (" << reason << ")"
            << (pruned.empty() ? "" : absl::StrCat("; pruned ", pruned.size(), " old versions"))
            << absl::StrFormat("; %.1f s", run.seconds());
  return run;
}

// ---- The stage ----

StreamContract DailyRetrain::Contract() const {
  StreamContract c;
  c.inputs = {PayloadType::kReplay};
  c.max_concurrency = 1;
  return c;
}

absl::Status DailyRetrain::Init() { return CheckDailyRetrainOptions(options_); }

absl::Status DailyRetrain::Open(const StageContext& ctx) {
  ctx_ = &ctx;
  return absl::OkStatus();
}

absl::Status DailyRetrain::Process(int, const Packet& packet, Emitter&) {
  const ReplayHandle& handle = packet.Get<ReplayHandle>();
  RetrainEnv env;
  env.progress = &ctx_->progress();
  env.cancelled = [this] { return ctx_->cancelled(); };
  env.label = absl::StrCat("[", ctx_->stage_name(), "]");
  return RetrainAfterNewestDay(options_, ctx_->workdir(), handle.dir, env).status();
}

RESACT_REGISTER_STAGE(DailyRetrain);

}  // namespace resact
