#include "stages/learners/training/optimizer.h"

#include <chrono>
#include <cmath>
#include <string>
#include <utility>

#include "stages/learners/nets/fused_kernels.h"

namespace resact {
namespace learners {
namespace {

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

}  // namespace

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

}  // namespace learners
}  // namespace resact
