#include "stages/learners/training/trainer.h"

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/fault.h"
#include "graph/memory.h"
#include "stages/learners/policy/torch_policy.h"
#include "stages/learners/training/optimizer.h"
#include "stages/learners/training/tensor_batch.h"

namespace resact {
namespace learners {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Keeps the sampler's stream apart from the weight and noise streams.
constexpr uint64_t kSamplerSalt = 0x5bd1e9955bd1e995ULL;

std::string Ctx(const std::string& algo, const std::string& what) {
  return absl::StrCat(algo, ": ", what);
}

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("option '", field, "': ", what));
}

}  // namespace

absl::Status CheckLearnerOptions(const LearnerOptions& o) {
  if (o.algo().empty()) return Invalid("algo", "required (e.g. \"td3_bc\")");
  const auto& registry = AlgorithmRegistry();
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
  if (o.resact().candidate_std() < 0) return Invalid("resact.candidate_std", "must be >= 0");
  auto hidden = ParseHidden(o.common().hidden());
  if (!hidden.ok()) return hidden.status();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(
    const LearnerOptions& options, std::shared_ptr<const TransitionSource> source,
    const std::string& run_dir) {
  std::unique_ptr<Trainer> t(new Trainer());
  RETURN_IF_ERROR(t->Init(options, std::move(source), run_dir));
  return t;
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::FromReplay(const LearnerOptions& options,
                                                             const std::string& replay_dir,
                                                             const std::string& run_dir) {
  auto source = LoadReplaySource(replay_dir, options.memory_budget_mb());
  if (!source.ok()) return Annotate(source.status(), Ctx(options.algo(), ""));
  return Create(options, *std::move(source), run_dir);
}

Trainer::~Trainer() = default;

absl::Status Trainer::Init(const LearnerOptions& options,
                           std::shared_ptr<const TransitionSource> source,
                           const std::string& run_dir) {
  KeepFreedMemoryForReuse();
  options_ = options;
  source_ = std::move(source);
  run_dir_ = run_dir;
  const std::string& algo = options_.algo();
  if (source_ == nullptr || source_->size() == 0) {
    return absl::FailedPreconditionError(Ctx(algo, "no transitions to train on"));
  }
  ctx_ = std::make_unique<AlgoContext>();
  ctx_->state_dim = source_->state_dim();
  ctx_->action_dim = source_->action_dim();
  ctx_->session_dim = source_->session_dim();
  ctx_->max_level = 5;
  ctx_->options = options_;
  ASSIGN_OR_RETURN(algo_, CreateAlgorithm(algo, *ctx_));
  rng_.seed(static_cast<uint64_t>(options_.common().seed()) ^ kSamplerSalt);
  metrics_ = MetricsWriter(run_dir_, algo, options_.label().empty() ? algo : options_.label());

  if (!run_dir_.empty()) {
    std::error_code ec;
    fs::create_directories(run_dir_, ec);
    if (ec) {
      return absl::InternalError(
          Ctx(algo, absl::StrCat("cannot create run dir ", run_dir_, ": ", ec.message())));
    }
    if (options_.resume() && fs::exists(checkpoint_path())) {
      RETURN_IF_ERROR(LoadCheckpoint(checkpoint_path()));
      resumed_ = true;
      LOG(INFO) << algo << ": resumed from " << checkpoint_path() << " at step " << step_;
    }
    RETURN_IF_ERROR(metrics_.Trim(step_, resumed_));
  }
  if (!resumed_ && options_.common().normalize_states()) {
    normalizer_ = Normalizer::Estimate(*source_, options_.normalization_samples(),
                                       static_cast<uint64_t>(options_.common().seed()));
  }
  metrics_.Restart(timing_);
  return absl::OkStatus();
}

std::string Trainer::checkpoint_path() const {
  return run_dir_.empty() ? "" : (fs::path(run_dir_) / "checkpoint-latest.pt").string();
}

absl::Status Trainer::Step() {
  const auto t0 = Clock::now();
  source_->Sample(options_.common().batch_size(), rng_, &sample_, &session_end_);
  TensorBatch batch;
  RETURN_IF_ERROR(TorchGuard(Ctx(algo(), "building a batch: "), [&] {
    batch = MakeTensorBatch(sample_, session_end_, options_.task(),
                            options_.common().reward_scale(), ctx_->max_level, normalizer_);
    return absl::OkStatus();
  }));
  const auto t1 = Clock::now();
  const double opt0 = OptimizerStepSeconds();
  RETURN_IF_ERROR(
      TorchGuard(Ctx(algo(), absl::StrCat("step ", step_ + 1, ": update failed: ")), [&] {
        last_metrics_ = algo_->Update(batch);
        return absl::OkStatus();
      }));
  const auto t2 = Clock::now();
  ++step_;
  ++timing_.steps;
  timing_.sample_s += Seconds(t0, t1);
  timing_.update_s += Seconds(t1, t2);
  timing_.optimizer_s += OptimizerStepSeconds() - opt0;
  metrics_.Add(last_metrics_);
  return CheckFinite(algo(), step_, last_metrics_);
}

absl::Status Trainer::Run(int64_t total_steps,
                          const std::function<absl::Status(int64_t)>& on_step) {
  const int64_t every = options_.eval_every();
  const int64_t ckpt_every = options_.checkpoint_every();
  const int64_t start = step_;
  while (step_ < total_steps) {
    RETURN_IF_ERROR(Step());
    FaultPoint("train.step");
    if (step_ % every == 0 || step_ == total_steps) RETURN_IF_ERROR(FlushMetrics());
    if (!run_dir_.empty() && ckpt_every > 0 && step_ % ckpt_every == 0 && step_ != total_steps) {
      RETURN_IF_ERROR(SaveCheckpoint());
      FaultPoint("train.checkpoint");
    }
    if (on_step) {
      absl::Status s = on_step(step_);
      if (!s.ok()) {
        // Stopped from outside (e.g. cancelled): the weights are sound, so
        // keep them for a resume.
        if (!run_dir_.empty()) {
          absl::Status c = SaveCheckpoint();
          if (!c.ok()) LOG(WARNING) << c;
        }
        return s;
      }
    }
  }
  if (!run_dir_.empty() && (step_ != start || !fs::exists(checkpoint_path()))) {
    RETURN_IF_ERROR(SaveCheckpoint());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<TorchPolicy>> Trainer::Snapshot() const {
  PolicyModel model;
  model.set_algo(options_.algo());
  model.set_state_dim(ctx_->state_dim);
  model.set_action_dim(ctx_->action_dim);
  model.set_session_dim(ctx_->session_dim);
  model.set_max_level(ctx_->max_level);
  model.set_step(step_);
  *model.mutable_options() = options_;
  for (float m : normalizer_.mean()) model.add_state_mean(m);
  for (float s : normalizer_.std()) model.add_state_std(s);
  std::string weights;
  RETURN_IF_ERROR(TorchGuard(Ctx(algo(), "snapshot: "), [&] {
    weights = SerializeModules(*algo_);
    return absl::OkStatus();
  }));
  return TorchPolicy::Create(model, std::move(weights));
}

}  // namespace learners
}  // namespace resact
