// LearnerStage: trains one offline RL algorithm on a replay store and emits
// its policies as it learns. See learner_stage.h.
//
// Example:
//   stage {
//     name: "td3_bc" type: "LearnerStage"
//     input_stream: "replay" output_stream: "td3_bc_policies"
//     options { [type.googleapis.com/resact.LearnerOptions] {
//       algo: "td3_bc" task: RETURN_TIME steps: 100000 eval_every: 5000
//       common { seed: 1 }
//     } }
//   }
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

absl::Status LearnerStage::Init() { return learners::CheckLearnerOptions(options_); }

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
  absl::Status s = learners::TorchGuard(prefix, [&] { return Train(replay_dir, out); });
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
