#include "stages/learners/algorithms/algorithm.h"

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
#include "stages/learners/nets/fused_kernels.h"
#include "stages/learners/nets/gemm.h"

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

// Adam with torch::optim::Adam's update, state and checkpoint format, whose
// step runs one fused pass per parameter (FusedAdamUpdate) where torch's
// makes about eight; it also accumulates the time spent in step()
// (OptimizerStepSeconds). Parameters it cannot fuse (not float32, not
// contiguous, sparse gradients) and the weight_decay and amsgrad options take
// torch's own step.
// (Measured: an Adam over one flat buffer of all parameters with torch's
// per-tensor kernels was no faster; the memory passes were the cost.)
class TimedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override {
    const auto t0 = std::chrono::steady_clock::now();
    torch::Tensor loss;
    if (Fusable()) {
      if (closure != nullptr) {
        torch::AutoGradMode enable_grad(true);
        loss = closure();
      }
      FusedStep();
    } else {
      loss = torch::optim::Adam::step(std::move(closure));
    }
    optimizer_step_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return loss;
  }

 private:
  bool Fusable() {
    for (auto& group : param_groups_) {
      const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
      if (o.weight_decay() != 0 || o.amsgrad()) return false;
      for (const auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        const auto& g = p.grad();
        if (!p.device().is_cpu() || p.scalar_type() != torch::kFloat || !p.is_contiguous() ||
            g.is_sparse() || g.scalar_type() != torch::kFloat || !g.is_contiguous() ||
            g.numel() != p.numel()) {
          return false;
        }
      }
    }
    return true;
  }

  void FusedStep() {
    torch::NoGradGuard no_grad;
    for (auto& group : param_groups_) {
      const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
      const double beta1 = std::get<0>(o.betas());
      const double beta2 = std::get<1>(o.betas());
      for (auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
        auto it = state_.find(key);
        if (it == state_.end()) {
          auto fresh = std::make_unique<torch::optim::AdamParamState>();
          fresh->step(0);
          fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          it = state_.emplace(key, std::move(fresh)).first;
        }
        auto& st = static_cast<torch::optim::AdamParamState&>(*it->second);
        if (!st.exp_avg().is_contiguous()) st.exp_avg(st.exp_avg().contiguous());
        if (!st.exp_avg_sq().is_contiguous()) st.exp_avg_sq(st.exp_avg_sq().contiguous());
        st.step(st.step() + 1);
        const double bc1 = 1 - std::pow(beta1, static_cast<double>(st.step()));
        const double bc2 = 1 - std::pow(beta2, static_cast<double>(st.step()));
        FusedAdamUpdate(p.data_ptr<float>(), p.grad().data_ptr<float>(),
                        st.exp_avg().data_ptr<float>(), st.exp_avg_sq().data_ptr<float>(),
                        p.numel(), static_cast<float>(beta1), static_cast<float>(beta2),
                        static_cast<float>(o.lr() / bc1), static_cast<float>(1 / std::sqrt(bc2)),
                        static_cast<float>(o.eps()));
        torch::autograd::impl::bump_version(p);
      }
    }
  }
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
    seq->push_back(Dense(width, h));
    // In place on the Linear's fresh output, which its backward does not
    // keep: one activation buffer less per layer.
    seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    width = h;
  }
  seq->push_back(Dense(width, out));
  if (tanh_out) seq->push_back(torch::nn::Tanh());
  return seq;
}

void SoftUpdate(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard no_grad;
  const auto tp = target.parameters();
  const auto sp = source.parameters();
  CHECK_EQ(tp.size(), sp.size()) << "SoftUpdate: modules differ";
  for (size_t i = 0; i < tp.size(); ++i) {
    torch::Tensor t = tp[i];
    const torch::Tensor& s = sp[i];
    // t ← t + τ·(s − t) = τ·s + (1 − τ)·t in one pass. torch's lerp_ with a
    // scalar weight made a soft update of TD3's six networks cost 4-5% of a
    // step.
    if (t.scalar_type() == torch::kFloat32 && s.scalar_type() == torch::kFloat32 &&
        t.is_contiguous() && s.is_contiguous() && t.sizes() == s.sizes()) {
      FusedLerp(t.data_ptr<float>(), s.data_ptr<float>(), t.numel(), static_cast<float>(tau));
      torch::autograd::impl::bump_version(t);
    } else {
      t.lerp_(s, tau);
    }
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
  return std::make_unique<TimedAdam>(module.parameters(), torch::optim::AdamOptions(lr));
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
