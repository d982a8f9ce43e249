#include "stages/learners/learner_stage.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/policy.h"
#include "graph/registry.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/policy/policy_io.h"
#include "stages/learners/policy/torch_policy.h"
#include "stages/learners/training/trainer.h"

namespace resact {
namespace {

namespace fs = std::filesystem;

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("option '", field, "': ", what));
}

// The name of the learner's rows in snapshots and metrics: label, else algo.
const std::string& Label(const LearnerOptions& o) {
  return o.label().empty() ? o.algo() : o.label();
}

// The learner in log lines and errors: its algorithm, and its label when that
// differs, e.g. "resact (resact_no_residual)".
std::string Who(const LearnerOptions& o) {
  return Label(o) == o.algo() ? o.algo() : absl::StrCat(o.algo(), " (", o.label(), ")");
}

}  // namespace

absl::Status LearnerStage::Init() {
  const LearnerOptions& o = options_;
  if (o.algo().empty()) return Invalid("algo", "required (e.g. \"td3_bc\")");
  const auto& registry = learners::AlgorithmRegistry();
  if (registry.count(o.algo()) == 0) {
    std::string known;
    for (const auto& [name, f] : registry) absl::StrAppend(&known, known.empty() ? "" : ", ", name);
    return Invalid("algo", absl::StrCat("unknown algorithm '", o.algo(), "'; known: ", known));
  }
  if (o.steps() < 0) return Invalid("steps", "must be >= 0");
  if (o.eval_every() <= 0) return Invalid("eval_every", "must be > 0");
  if (o.checkpoint_every() < 0) return Invalid("checkpoint_every", "must be >= 0");
  if (o.memory_budget_mb() <= 0) return Invalid("memory_budget_mb", "must be > 0");
  if (o.torch_threads() < 0) return Invalid("torch_threads", "must be >= 0");
  if (o.normalization_samples() <= 0) return Invalid("normalization_samples", "must be > 0");
  if (o.common().batch_size() <= 0) return Invalid("common.batch_size", "must be > 0");
  if (!(o.common().lr() > 0)) return Invalid("common.lr", "must be > 0");
  if (!(o.common().gamma() >= 0 && o.common().gamma() <= 1)) {
    return Invalid("common.gamma", "must be in [0, 1]");
  }
  if (!(o.common().tau() > 0 && o.common().tau() <= 1)) {
    return Invalid("common.tau", "must be in (0, 1]");
  }
  auto hidden = learners::ParseHidden(o.common().hidden());
  if (!hidden.ok()) return hidden.status();
  return absl::OkStatus();
}

StreamContract LearnerStage::Contract() const {
  StreamContract c;
  if (!options_.has_replay_dir()) c.inputs = {PayloadType::kReplay};
  c.outputs = {PayloadType::kPolicy};
  c.optional_outputs = 1;  // A training-only spec may leave the snapshots unwired.
  c.max_concurrency = 1;
  return c;
}

std::string LearnerStage::Resolve(const std::string& path) const {
  fs::path p(path);
  return p.is_absolute() ? p.string() : (fs::path(ctx_->workdir()) / p).string();
}

absl::Status LearnerStage::Open(const StageContext& ctx) {
  ctx_ = std::make_unique<StageContext>(ctx);
  const std::string run = options_.has_run_dir()
                              ? options_.run_dir()
                              : absl::StrCat("learners/", options_.algo(), "-",
                                             learners::TaskName(options_.task()), "-seed",
                                             options_.common().seed());
  run_dir_ = Resolve(run);
  return absl::OkStatus();
}

absl::Status LearnerStage::Generate(Emitter& out) {
  if (!options_.has_replay_dir()) return absl::UnimplementedError("this stage takes a replay stream");
  return TrainGuarded(Resolve(options_.replay_dir()), out);
}

absl::Status LearnerStage::Process(int input, const Packet& packet, Emitter& out) {
  (void)input;
  return TrainGuarded(Resolve(packet.Get<ReplayHandle>().dir), out);
}

absl::Status LearnerStage::TrainGuarded(const std::string& replay_dir, Emitter& out) {
  const std::string prefix = absl::StrCat("learner ", Who(options_), ": ");
  absl::Status s;
  try {
    s = Train(replay_dir, out);
  } catch (const c10::Error& e) {
    s = absl::InternalError(absl::StrCat(prefix, e.what_without_backtrace()));
  } catch (const std::exception& e) {
    s = absl::InternalError(absl::StrCat(prefix, e.what()));
  }
  if (!s.ok() && s.message().find(options_.algo()) == absl::string_view::npos) {
    s = Annotate(s, prefix);
  }
  return s;
}

absl::Status LearnerStage::Train(const std::string& replay_dir, Emitter& out) {
  const LearnerOptions& o = options_;
  if (o.torch_threads() > 0) torch::set_num_threads(o.torch_threads());
  Progress& progress = ctx_->progress();
  progress.SetTotal(static_cast<double>(o.steps()), "steps");
  progress.SetPhase("loading replay");
  LOG(INFO) << "learner " << Who(o) << ": training on " << replay_dir << ", run dir "
            << run_dir_;
  ASSIGN_OR_RETURN(auto trainer, learners::Trainer::FromReplay(o, replay_dir, run_dir_));
  progress.SetPhase("training");
  progress.SetDone(static_cast<double>(trainer->step()));

  auto emit = [&](bool final) -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<learners::TorchPolicy> policy, trainer->Snapshot());
    if (final) RETURN_IF_ERROR(SavePolicy(*policy, (fs::path(run_dir_) / "model").string()));
    auto snap = std::make_shared<PolicySnapshot>();
    snap->algo = Label(o);
    snap->task = learners::TaskName(o.task());
    snap->seed = o.common().seed();
    snap->step = trainer->step();
    snap->final = final;
    snap->run_dir = run_dir_;
    snap->policy = std::move(policy);
    return out.Emit<PolicySnapshot>(0, PayloadType::kPolicy, std::move(snap));
  };

  const int64_t batch = o.common().batch_size();
  RETURN_IF_ERROR(trainer->Run(o.steps(), [&](int64_t step) -> absl::Status {
    progress.SetDone(static_cast<double>(step));
    progress.AddRows(static_cast<uint64_t>(batch));
    if (ctx_->cancelled()) {
      return absl::CancelledError(absl::StrCat("learner ", Who(o), ": cancelled at step ", step));
    }
    if (step % o.eval_every() == 0 && step != o.steps()) return emit(false);
    return absl::OkStatus();
  }));
  const auto& t = trainer->timing();
  if (t.steps > 0) {
    LOG(INFO) << "learner " << Who(o) << ": " << t.steps << " steps, "
              << 1000.0 * (t.sample_s + t.update_s) / t.steps << " ms/step";
  }
  return emit(true);
}

RESACT_REGISTER_STAGE(LearnerStage);

}  // namespace resact
