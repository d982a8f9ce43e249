#include "stages/evaluators/fqe.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "graph/status.h"
#include "stages/learners/nets/actor_critic.h"
#include "stages/learners/training/normalizer.h"
#include "stages/learners/training/tensor_batch.h"
#include "storage/replay_reader.h"

namespace resact {
namespace {

// Kept apart from the weights' stream, as the trainer's sampler is.
constexpr uint64_t kFqeSamplerSalt = 0x2545f4914f6cdd1dULL;

absl::StatusOr<LearnerOptions::Task> TaskOf(const std::string& task) {
  LearnerOptions::Task t;
  if (!LearnerOptions::Task_Parse(absl::AsciiStrToUpper(task), &t)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "FQE: unknown task '", task, "'; expected return_time, session_length or both"));
  }
  return t;
}

}  // namespace

struct FqeModel::Impl {
  FqeOptions options;
  learners::AlgoContext ctx;
  std::unique_ptr<learners::CriticEnsemble> critic;
  learners::Normalizer normalizer;
  int64_t steps = 0;
  double final_loss = 0, seconds = 0;
};

FqeModel::FqeModel() : impl_(new Impl()) {}
FqeModel::~FqeModel() = default;

double FqeModel::gamma() const { return impl_->options.gamma(); }
int64_t FqeModel::steps() const { return impl_->steps; }
double FqeModel::final_loss() const { return impl_->final_loss; }
double FqeModel::seconds() const { return impl_->seconds; }

absl::Status CheckFqeOptions(const FqeOptions& o) {
  if (o.steps() < 0) return absl::InvalidArgumentError("option 'fqe.steps': must be >= 0");
  if (o.batch_size() < 1) return absl::InvalidArgumentError("option 'fqe.batch_size': must be >= 1");
  if (!(o.gamma() >= 0 && o.gamma() < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("option 'fqe.gamma': must be in [0, 1), got ", o.gamma()));
  }
  if (!(o.lr() > 0)) return absl::InvalidArgumentError("option 'fqe.lr': must be > 0");
  if (!(o.tau() > 0 && o.tau() <= 1)) {
    return absl::InvalidArgumentError("option 'fqe.tau': must be in (0, 1]");
  }
  auto hidden = learners::ParseHidden(o.hidden());
  if (!hidden.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "option 'fqe.hidden': expected positive layer widths like \"256,256\", got \"",
        o.hidden(), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FqeModel>> FqeModel::Fit(
    const learners::TransitionSource& train, const Policy& policy, const std::string& task,
    const FqeOptions& options, const std::function<void(int64_t)>& progress) {
  RETURN_IF_ERROR(CheckFqeOptions(options));
  ASSIGN_OR_RETURN(const LearnerOptions::Task t, TaskOf(task));
  const int sd = train.state_dim(), ad = train.action_dim();
  if (policy.state_dim() != sd || policy.action_dim() != ad) {
    return absl::FailedPreconditionError(absl::StrCat(
        "FQE: the policy takes states of ", policy.state_dim(), " and gives actions of ",
        policy.action_dim(), " floats, but the replay has ", sd, " and ", ad));
  }
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<FqeModel> m(new FqeModel());
  Impl& s = *m->impl_;
  s.options = options;
  s.ctx.state_dim = sd;
  s.ctx.action_dim = ad;
  s.ctx.session_dim = train.session_dim();
  LearnerCommonOptions* common = s.ctx.options.mutable_common();
  common->set_gamma(options.gamma());
  common->set_lr(options.lr());
  common->set_tau(options.tau());
  common->set_hidden(options.hidden());
  ASSIGN_OR_RETURN(s.ctx.hidden, learners::ParseHidden(options.hidden()));
  RETURN_IF_ERROR(learners::BuildSeeded("FQE", options.seed(), [&] {
    s.critic = std::make_unique<learners::CriticEnsemble>(s.ctx, 1);
  }));
  s.normalizer =
      learners::Normalizer::Estimate(train, options.normalization_samples(), options.seed());

  std::mt19937_64 rng(options.seed() ^ kFqeSamplerSalt);
  ReplaySample sample;
  std::vector<uint8_t> session_end;
  std::vector<float> next_action;
  const int64_t tail_from = options.steps() - std::max<int64_t>(1, options.steps() / 10);
  double tail_loss = 0;
  int64_t tail_n = 0;
  for (int64_t step = 0; step < options.steps(); ++step) {
    train.Sample(options.batch_size(), rng, &sample, &session_end);
    next_action.resize(static_cast<size_t>(sample.size) * ad);
    RETURN_IF_ERROR(Annotate(policy.Act(sample.next_state.data(), sample.size, next_action.data()),
                             "FQE: the evaluated policy at the next states"));
    learners::Metrics metrics;
    RETURN_IF_ERROR(learners::TorchGuard("FQE: ", [&] {
      const learners::TensorBatch b = learners::MakeTensorBatch(
          sample, session_end, t, /*reward_scale=*/1.0, /*max_level=*/5, s.normalizer);
      const torch::Tensor a_next =
          torch::from_blob(next_action.data(), {sample.size, ad}, torch::kFloat32).clamp(-1.0, 1.0);
      s.critic->Update(b, s.critic->Target(b, a_next), &metrics);
      s.critic->SoftUpdateTargets(options.tau());
      return absl::OkStatus();
    }));
    RETURN_IF_ERROR(learners::CheckFinite("FQE", step + 1, metrics));
    if (step >= tail_from) {
      for (const auto& [name, v] : metrics) {
        if (name == "critic_loss") {
          tail_loss += v;
          ++tail_n;
        }
      }
    }
    if (progress) progress(step + 1);
  }
  s.steps = options.steps();
  s.final_loss = tail_n > 0 ? tail_loss / tail_n : 0;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return m;
}

absl::Status FqeModel::Q(const float* states, const float* actions, int64_t n,
                         double* out) const {
  const int sd = impl_->ctx.state_dim, ad = impl_->ctx.action_dim;
  return learners::TorchGuard("FQE: ", [&] {
    torch::NoGradGuard no_grad;
    constexpr int64_t kChunk = 8192;
    for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
      const int64_t k = std::min(kChunk, n - i0);
      const torch::Tensor s = impl_->normalizer.Apply(
          torch::from_blob(const_cast<float*>(states + i0 * sd), {k, sd}, torch::kFloat32));
      const torch::Tensor a =
          torch::from_blob(const_cast<float*>(actions + i0 * ad), {k, ad}, torch::kFloat32)
              .clamp(-1.0, 1.0);
      const torch::Tensor q = impl_->critic->Q(0, s, a).contiguous();
      const float* p = q.data_ptr<float>();
      for (int64_t i = 0; i < k; ++i) out[i0 + i] = p[i];
    }
    return absl::OkStatus();
  });
}

}  // namespace resact
