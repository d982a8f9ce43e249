#include "stages/evaluators/behaviour_model.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <mutex>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "graph/status.h"
#include "stages/evaluators/evaluator_options.pb.h"
#include "storage/replay_reader.h"

namespace resact {

BehaviourFitOptions BehaviourFitOptionsOf(const FitBehaviourOptions& options) {
  BehaviourFitOptions fo;
  fo.hidden = options.hidden();
  fo.steps = options.steps();
  fo.batch_size = options.batch_size();
  fo.lr = options.lr();
  fo.seed = options.seed();
  return fo;
}

struct BehaviourModel::Impl {
  int state_dim = 0, action_dim = 0;
  std::vector<int> hidden;
  mutable torch::nn::Sequential mean{nullptr};
  torch::Tensor log_std;
  torch::Tensor state_mean, state_std;
  double initial_nll = 0, final_nll = 0;
  mutable std::mutex mu;

  void Build() {
    mean = torch::nn::Sequential();
    int in = state_dim;
    for (int h : hidden) {
      mean->push_back(torch::nn::Linear(in, h));
      mean->push_back(torch::nn::ReLU());
      in = h;
    }
    mean->push_back(torch::nn::Linear(in, action_dim));
    mean->push_back(torch::nn::Tanh());
    log_std = torch::full({action_dim}, std::log(0.5), torch::requires_grad());
    state_mean = torch::zeros({state_dim});
    state_std = torch::ones({state_dim});
  }
  torch::Tensor Normalize(const torch::Tensor& s) const { return (s - state_mean) / state_std; }
  torch::Tensor LogProb(const torch::Tensor& s, const torch::Tensor& a) const {
    const torch::Tensor mu = mean->forward(Normalize(s));
    const torch::Tensor ls = log_std.clamp(-5, 2);
    const torch::Tensor z = (a - mu) * torch::exp(-ls);
    return (-0.5 * z.pow(2) - ls - 0.5 * std::log(2 * M_PI)).sum(1);
  }
};

BehaviourModel::BehaviourModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BehaviourModel::~BehaviourModel() = default;

namespace {
absl::StatusOr<std::vector<int>> Widths(const std::string& text) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(part, &v) || v <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("hidden: expected widths like 256,256, got '", text, "'"));
    }
    out.push_back(v);
  }
  return out;
}
}  // namespace

absl::StatusOr<std::unique_ptr<BehaviourModel>> BehaviourModel::Fit(
    const ReplayReader& replay, const BehaviourFitOptions& o) {
  if (replay.num_transitions() == 0) {
    return absl::FailedPreconditionError("behaviour model: the replay split has no transitions");
  }
  auto impl = std::make_unique<Impl>();
  impl->state_dim = replay.state_dim();
  impl->action_dim = replay.action_dim();
  ASSIGN_OR_RETURN(impl->hidden, Widths(o.hidden));
  try {
    {
      static std::mutex seed_mu;
      std::lock_guard<std::mutex> lock(seed_mu);
      torch::manual_seed(o.seed);
      impl->Build();
    }
    std::mt19937_64 rng(o.seed);
    ReplaySample sample;
    // State normalization from a large sample.
    replay.Sample(std::min<int64_t>(20000, std::max<int64_t>(1000, replay.num_transitions())), rng,
                  1, 0, &sample);
    torch::Tensor s0 = torch::from_blob(sample.state.data(), {sample.size, sample.state_dim}).clone();
    impl->state_mean = s0.mean(0);
    impl->state_std = s0.std(0).clamp_min(1e-3);
    std::vector<torch::Tensor> params = impl->mean->parameters();
    params.push_back(impl->log_std);
    torch::optim::Adam opt(params, torch::optim::AdamOptions(o.lr));
    double first = 0, last = 0;
    int nfirst = 0, nlast = 0;
    for (int64_t step = 0; step < o.steps; ++step) {
      replay.Sample(o.batch_size, rng, 1, 0, &sample);
      torch::Tensor s = torch::from_blob(sample.state.data(), {sample.size, sample.state_dim});
      torch::Tensor a = torch::from_blob(sample.action.data(), {sample.size, sample.action_dim});
      torch::Tensor nll = -impl->LogProb(s, a).mean();
      opt.zero_grad();
      nll.backward();
      opt.step();
      const double v = nll.item<double>();
      if (!std::isfinite(v)) {
        return absl::InternalError(absl::StrCat("behaviour model: the loss is ", v, " at step ", step));
      }
      if (step < 200) first += v, ++nfirst;
      if (step >= o.steps - 200) last += v, ++nlast;
    }
    impl->initial_nll = nfirst ? first / nfirst : 0;
    impl->final_nll = nlast ? last / nlast : 0;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("behaviour model: LibTorch: ", e.what()));
  }
  return std::unique_ptr<BehaviourModel>(new BehaviourModel(std::move(impl)));
}

absl::Status BehaviourModel::Save(const std::string& path) const {
  try {
    torch::serialize::OutputArchive ar;
    ar.write("dims", torch::tensor({impl_->state_dim, impl_->action_dim}, torch::kInt64));
    std::vector<int64_t> hidden(impl_->hidden.begin(), impl_->hidden.end());
    ar.write("hidden", torch::tensor(hidden, torch::kInt64));
    torch::serialize::OutputArchive mean_ar;
    impl_->mean->save(mean_ar);
    ar.write("mean", mean_ar);
    ar.write("log_std", impl_->log_std.detach());
    ar.write("state_mean", impl_->state_mean);
    ar.write("state_std", impl_->state_std);
    ar.write("nll", torch::tensor({impl_->initial_nll, impl_->final_nll}, torch::kFloat64));
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const std::string tmp = path + ".tmp";
    ar.save_to(tmp);
    std::filesystem::rename(tmp, path);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("behaviour model: cannot write ", path, ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BehaviourModel>> BehaviourModel::Load(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat("behaviour model: no file ", path));
  }
  auto impl = std::make_unique<Impl>();
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(path);
    torch::Tensor dims, hidden, nll;
    ar.read("dims", dims);
    ar.read("hidden", hidden);
    impl->state_dim = static_cast<int>(dims[0].item<int64_t>());
    impl->action_dim = static_cast<int>(dims[1].item<int64_t>());
    for (int64_t i = 0; i < hidden.numel(); ++i) impl->hidden.push_back(hidden[i].item<int64_t>());
    impl->Build();
    torch::serialize::InputArchive mean_ar;
    ar.read("mean", mean_ar);
    impl->mean->load(mean_ar);
    torch::Tensor log_std;
    ar.read("log_std", log_std);
    impl->log_std = log_std;
    ar.read("state_mean", impl->state_mean);
    ar.read("state_std", impl->state_std);
    ar.read("nll", nll);
    impl->initial_nll = nll[0].item<double>();
    impl->final_nll = nll[1].item<double>();
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("behaviour model: cannot read ", path, ": ", e.what()));
  }
  return std::unique_ptr<BehaviourModel>(new BehaviourModel(std::move(impl)));
}

int BehaviourModel::state_dim() const { return impl_->state_dim; }
int BehaviourModel::action_dim() const { return impl_->action_dim; }
double BehaviourModel::initial_nll() const { return impl_->initial_nll; }
double BehaviourModel::final_nll() const { return impl_->final_nll; }

double BehaviourModel::mean_std() const {
  return torch::exp(impl_->log_std.detach().clamp(-5, 2)).mean().item<double>();
}

absl::Status BehaviourModel::LogProb(const float* states, const float* actions, int64_t n,
                                     double* out) const {
  try {
    std::lock_guard<std::mutex> lock(impl_->mu);
    torch::NoGradGuard no_grad;
    torch::Tensor s = torch::from_blob(const_cast<float*>(states), {n, impl_->state_dim});
    torch::Tensor a = torch::from_blob(const_cast<float*>(actions), {n, impl_->action_dim});
    torch::Tensor lp = impl_->LogProb(s, a).to(torch::kFloat64).contiguous();
    std::copy(lp.data_ptr<double>(), lp.data_ptr<double>() + n, out);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("behaviour model: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status BehaviourModel::Mean(const float* states, int64_t n, float* out) const {
  try {
    std::lock_guard<std::mutex> lock(impl_->mu);
    torch::NoGradGuard no_grad;
    torch::Tensor s = torch::from_blob(const_cast<float*>(states), {n, impl_->state_dim});
    torch::Tensor mu = impl_->mean->forward(impl_->Normalize(s)).contiguous();
    std::copy(mu.data_ptr<float>(), mu.data_ptr<float>() + n * impl_->action_dim, out);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("behaviour model: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace resact
