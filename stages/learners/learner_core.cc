#include "stages/learners/learner_core.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <mutex>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"

namespace resact {
namespace learners {
namespace {

// Names registered twice; CreateAlgorithm refuses them.
std::set<std::string>& Duplicates() {
  static auto* d = new std::set<std::string>();
  return *d;
}

// Serializes weight initialisation: torch::manual_seed and the module
// constructors that draw from torch's global generator. Recursive, so a
// factory may build another algorithm.
std::recursive_mutex& InitMutex() {
  static auto* mu = new std::recursive_mutex();
  return *mu;
}

thread_local double optimizer_step_seconds = 0;

// Adam over one flat buffer. At construction the parameters' values move
// into one contiguous buffer and every parameter becomes a view of it, so a
// step is a handful of kernels over all parameters at once instead of eight
// per parameter (the same update as torch::optim::Adam, without amsgrad).
// Gradients are gathered with one cat. When a parameter is re-pointed (e.g.
// by Module::load), its values are copied back into the buffer before the
// next step. A parameter without a gradient is skipped, as torch's Adam
// does: it keeps its own step count, and the step goes parameter by
// parameter until the counts agree again. The moments and step counts are
// saved and loaded by save()/load(). Also accumulates the time spent in
// step() (OptimizerStepSeconds).
class FlatAdam : public torch::optim::Adam {
 public:
  FlatAdam(std::vector<torch::Tensor> params, double lr)
      : torch::optim::Adam(params, torch::optim::AdamOptions(lr)), params_(std::move(params)) {
    int64_t total = 0;
    for (const torch::Tensor& p : params_) {
      CHECK(p.scalar_type() == torch::kFloat32 && p.device().is_cpu())
          << "MakeAdam: only float32 CPU parameters";
      offset_.push_back(total);
      total += p.numel();
    }
    offset_.push_back(total);
    flat_ = torch::empty({total}, torch::kFloat32);
    exp_avg_ = torch::zeros({total}, torch::kFloat32);
    exp_avg_sq_ = torch::zeros({total}, torch::kFloat32);
    steps_.assign(params_.size(), 0);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) Link(i);
  }

  torch::Tensor step(LossClosure closure = nullptr) override {
    const auto t0 = std::chrono::steady_clock::now();
    torch::Tensor loss;
    if (closure != nullptr) {
      torch::AutoGradMode grad_mode(true);
      loss = closure();
    }
    Update();
    optimizer_step_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return loss;
  }

  void save(torch::serialize::OutputArchive& archive) const override {
    archive.write("flat_exp_avg", exp_avg_, /*is_buffer=*/true);
    archive.write("flat_exp_avg_sq", exp_avg_sq_, /*is_buffer=*/true);
    archive.write("flat_steps", torch::tensor(steps_, torch::kInt64), /*is_buffer=*/true);
  }

  void load(torch::serialize::InputArchive& archive) override {
    torch::Tensor m, v, steps;
    archive.read("flat_exp_avg", m, true);
    archive.read("flat_exp_avg_sq", v, true);
    archive.read("flat_steps", steps, true);
    TORCH_CHECK(m.numel() == exp_avg_.numel() && v.numel() == exp_avg_sq_.numel() &&
                    steps.numel() == static_cast<int64_t>(steps_.size()),
                "optimizer state does not match the parameters");
    torch::NoGradGuard no_grad;
    exp_avg_.copy_(m);
    exp_avg_sq_.copy_(v);
    const auto s = steps.contiguous();
    for (size_t i = 0; i < steps_.size(); ++i) steps_[i] = s.data_ptr<int64_t>()[i];
  }

 private:
  torch::Tensor Segment(const torch::Tensor& flat, size_t i) const {
    return flat.narrow(0, offset_[i], offset_[i + 1] - offset_[i]);
  }

  // Makes parameter i a view of its segment, keeping its current values.
  void Link(size_t i) {
    torch::Tensor& p = params_[i];
    torch::Tensor seg = Segment(flat_, i);
    seg.copy_(p.detach().reshape({-1}));
    p.set_data(seg.view(p.sizes()));
  }

  void Update() {
    torch::NoGradGuard no_grad;
    const auto& o = static_cast<const torch::optim::AdamOptions&>(param_groups()[0].options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    bool all = true;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (params_[i].data_ptr<float>() != flat_.data_ptr<float>() + offset_[i]) Link(i);
      all = all && params_[i].grad().defined() && steps_[i] == steps_[0];
    }
    // The update of one block (all parameters, or one) with step count `t`.
    auto apply = [&](torch::Tensor p, torch::Tensor g, torch::Tensor m, torch::Tensor v,
                     int64_t t) {
      if (o.weight_decay() != 0) g = g.add(p, o.weight_decay());
      const double bias1 = 1 - std::pow(beta1, t), bias2 = 1 - std::pow(beta2, t);
      m.mul_(beta1).add_(g, 1 - beta1);
      v.mul_(beta2).addcmul_(g, g, 1 - beta2);
      torch::Tensor denom = v.sqrt();
      denom.div_(std::sqrt(bias2)).add_(o.eps());
      p.addcdiv_(m, denom, -o.lr() / bias1);
    };
    if (all && !params_.empty()) {
      std::vector<torch::Tensor> grads;
      grads.reserve(params_.size());
      for (const torch::Tensor& p : params_) grads.push_back(p.grad().reshape({-1}));
      const int64_t t = steps_[0] + 1;
      for (int64_t& s : steps_) s = t;
      apply(flat_, torch::cat(grads), exp_avg_, exp_avg_sq_, t);
      return;
    }
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i].grad().defined()) continue;
      apply(Segment(flat_, i), params_[i].grad().reshape({-1}), Segment(exp_avg_, i),
            Segment(exp_avg_sq_, i), ++steps_[i]);
    }
  }

  std::vector<torch::Tensor> params_;
  std::vector<int64_t> offset_;
  torch::Tensor flat_, exp_avg_, exp_avg_sq_;
  std::vector<int64_t> steps_;
};

// The generator stream is kept apart from the weight stream (same seed would
// correlate initial weights with the first noise draws).
constexpr uint64_t kGeneratorSalt = 0x9e3779b97f4a7c15ULL;

}  // namespace

std::map<std::string, AlgorithmFactory>& AlgorithmRegistry() {
  static auto* registry = new std::map<std::string, AlgorithmFactory>();
  return *registry;
}

bool RegisterAlgorithm(const std::string& name, AlgorithmFactory factory) {
  auto& registry = AlgorithmRegistry();
  if (registry.count(name) > 0) {
    Duplicates().insert(name);
    return false;
  }
  registry.emplace(name, std::move(factory));
  return true;
}

absl::StatusOr<std::unique_ptr<Algorithm>> CreateAlgorithm(const std::string& name,
                                                           AlgoContext& ctx) {
  const auto& registry = AlgorithmRegistry();
  auto it = registry.find(name);
  if (it == registry.end()) {
    std::vector<std::string> known;
    for (const auto& [k, v] : registry) known.push_back(k);
    return absl::NotFoundError(absl::StrCat("unknown learner algorithm '", name,
                                            "'; known: ", absl::StrJoin(known, ", ")));
  }
  if (Duplicates().count(name) > 0) {
    return absl::InternalError(
        absl::StrCat("learner algorithm '", name, "' is registered more than once"));
  }
  if (ctx.state_dim <= 0 || ctx.action_dim <= 0 || ctx.session_dim < 0 ||
      ctx.session_dim > ctx.state_dim) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": bad dimensions: state_dim ", ctx.state_dim, ", action_dim ",
                     ctx.action_dim, ", session_dim ", ctx.session_dim));
  }
  const uint64_t seed = static_cast<uint64_t>(ctx.options.common().seed());
  if (ctx.hidden.empty()) {
    ASSIGN_OR_RETURN(ctx.hidden, ParseHidden(ctx.options.common().hidden()));
  }
  if (!ctx.generator.defined()) {
    ctx.generator = at::make_generator<at::CPUGeneratorImpl>(seed ^ kGeneratorSalt);
  }
  try {
    std::lock_guard<std::recursive_mutex> lock(InitMutex());
    torch::manual_seed(seed);
    return it->second(ctx);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat(name, ": building the networks failed: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(name, ": building the networks failed: ", e.what()));
  }
}

torch::nn::Sequential MakeMlp(int in, const std::vector<int>& hidden, int out, bool tanh_out) {
  torch::nn::Sequential seq;
  int width = in;
  for (int h : hidden) {
    seq->push_back(torch::nn::Linear(width, h));
    // In place: the Linear output is used by nothing else (addmm's backward
    // needs its input, not its output), so this saves an allocation.
    seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    width = h;
  }
  seq->push_back(torch::nn::Linear(width, out));
  if (tanh_out) seq->push_back(torch::nn::Tanh());
  return seq;
}

void SoftUpdate(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard no_grad;
  const auto tp = target.parameters();
  const auto sp = source.parameters();
  CHECK_EQ(tp.size(), sp.size()) << "SoftUpdate: modules differ";
  for (size_t i = 0; i < tp.size(); ++i) {
    // t ← t + τ·(s − t) = τ·s + (1 − τ)·t, one fused kernel.
    tp[i].lerp_(sp[i], tau);
  }
  const auto tb = target.buffers();
  const auto sb = source.buffers();
  CHECK_EQ(tb.size(), sb.size()) << "SoftUpdate: modules differ";
  for (size_t i = 0; i < tb.size(); ++i) tb[i].copy_(sb[i]);
}

void HardUpdate(torch::nn::Module& target, const torch::nn::Module& source) {
  torch::NoGradGuard no_grad;
  const auto tp = target.parameters();
  const auto sp = source.parameters();
  CHECK_EQ(tp.size(), sp.size()) << "HardUpdate: modules differ";
  for (size_t i = 0; i < tp.size(); ++i) tp[i].copy_(sp[i]);
  const auto tb = target.buffers();
  const auto sb = source.buffers();
  CHECK_EQ(tb.size(), sb.size()) << "HardUpdate: modules differ";
  for (size_t i = 0; i < tb.size(); ++i) tb[i].copy_(sb[i]);
}

std::unique_ptr<torch::optim::Adam> MakeAdam(torch::nn::Module& module, double lr) {
  return std::make_unique<FlatAdam>(module.parameters(), lr);
}

void ZeroGrad(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      if (p.grad().defined()) p.mutable_grad().reset();
    }
  }
}

double OptimizerStepSeconds() { return optimizer_step_seconds; }

torch::Tensor Randn(AlgoContext& ctx, torch::IntArrayRef sizes) {
  return torch::randn(sizes, ctx.generator, torch::kFloat32);
}

void StepCounterImpl::save(torch::serialize::OutputArchive& archive) const {
  archive.write("count", c10::IValue(value_));
}

void StepCounterImpl::load(torch::serialize::InputArchive& archive) {
  c10::IValue v;
  archive.read("count", v);
  value_ = v.toInt();
}

absl::StatusOr<std::vector<int>> ParseHidden(const std::string& text) {
  std::vector<int> widths;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    int w = 0;
    if (!absl::SimpleAtoi(part, &w) || w <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("option 'common.hidden': expected positive layer widths like "
                       "\"256,256\", got \"", text, "\""));
    }
    widths.push_back(w);
  }
  return widths;
}

absl::Status CheckFinite(const std::string& algo, int64_t step, const Metrics& metrics) {
  for (const auto& [name, value] : metrics) {
    if (!std::isfinite(value)) {
      return absl::InternalError(absl::StrCat(
          algo, ": step ", step, ": ", name, " is ", std::isnan(value) ? "NaN" : "Inf",
          " (training diverged or the replay holds non-finite values; try a lower "
          "common.lr or common.reward_scale)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace learners
}  // namespace resact
