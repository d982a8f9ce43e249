// iql: Implicit Q-Learning (Kostrikov et al., 2022), method.md section 2.
// Every step, in the paper's order:
//   - value:  V(s) regresses the expectile τ of min(Q1', Q2')(s, a) over the
//     logged actions: L_V = mean |τ − 1(u < 0)| · u², u = min Q'(s, a) − V(s);
//   - actor:  a deterministic tanh actor π(s), advantage-weighted regression
//     to the logged action: L_π = mean w · ||π(s) − a||²,
//     w = min(exp(β · (min Q'(s, a) − V(s))), max_weight);
//   - critics: twin Q (CriticEnsemble, actor_critic.h; trained by autograd)
//     regress y = r + γ(1 − done)·V(s');
//   - targets: Q1', Q2' follow Q1, Q2 by soft updates with τ.
// Acting returns π(s).
//
// Example (configs/algo_iql.pbtxt):
//   algo: "iql"
//   iql { expectile: 0.7 beta: 3 max_weight: 100 }
#include "graph/status.h"
#include "stages/learners/nets/actor_critic.h"

namespace resact {
namespace learners {
namespace {

class Iql : public Algorithm {
 public:
  explicit Iql(AlgoContext& ctx)
      : ctx_(ctx),
        opt_(ctx.options.iql()),
        actor_(MakeActor(ctx)),
        value_(MakeMlp(ctx.state_dim, ctx.hidden, 1)),
        critics_(ctx, 2) {
    const double lr = ctx.options.common().lr();
    actor_opt_ = MakeAdam(*actor_, lr);
    value_opt_ = MakeAdam(*value_, lr);
  }

  Metrics Update(const TensorBatch& b) override {
    const auto& common = ctx_.options.common();
    torch::Tensor target_q;
    {
      torch::NoGradGuard no_grad;
      target_q = torch::min(critics_.TargetQ(0, b.state, b.action),
                            critics_.TargetQ(1, b.state, b.action));
    }

    // Value: expectile regression.
    auto v = value_->forward(b.state);
    auto u = target_q - v;
    auto expectile_weight = torch::abs(opt_.expectile() - (u < 0).to(torch::kFloat));
    auto value_loss = (expectile_weight * u.pow(2)).mean();
    ZeroGrad(*value_opt_);
    value_loss.backward();
    value_opt_->step();

    // Actor: advantage-weighted regression.
    torch::Tensor weight;
    torch::Tensor advantage;
    {
      torch::NoGradGuard no_grad;
      advantage = target_q - value_->forward(b.state);
      weight = torch::exp(opt_.beta() * advantage).clamp_max(opt_.max_weight());
    }
    auto actor_loss =
        (weight * (actor_->forward(b.state) - b.action).pow(2).sum(1, /*keepdim=*/true)).mean();
    ZeroGrad(*actor_opt_);
    actor_loss.backward();
    actor_opt_->step();

    // Critics.
    torch::Tensor y;
    {
      torch::NoGradGuard no_grad;
      y = b.reward + common.gamma() * (1.0 - b.done) * value_->forward(b.next_state);
    }
    torch::Tensor q1;
    const torch::Tensor critic_loss = critics_.AutogradUpdate(b, y, &q1);
    critics_.SoftUpdateTargets(common.tau());

    return {{"critic_loss", critic_loss.item<double>()},
            {"value_loss", value_loss.item<double>()},
            {"actor_loss", actor_loss.item<double>()},
            {"q_mean", q1.mean().item<double>()},
            {"v_mean", v.mean().item<double>()},
            {"adv_mean", advantage.mean().item<double>()},
            {"weight_mean", weight.mean().item<double>()}};
  }

  torch::Tensor Act(const torch::Tensor& state) override { return actor_->forward(state); }

  NamedModules Modules() override {
    NamedModules out = {{"actor", actor_.ptr().get()}, {"value", value_.ptr().get()}};
    critics_.AppendEachModule(&out);
    return out;
  }
  NamedOptimizers Optimizers() override {
    NamedOptimizers out = {{"actor", actor_opt_.get()}, {"value", value_opt_.get()}};
    critics_.AppendOptimizers(&out);
    return out;
  }

 private:
  AlgoContext& ctx_;  // Outlives the algorithm (CreateAlgorithm).
  IqlOptions opt_;
  torch::nn::Sequential actor_, value_;
  CriticEnsemble critics_;  // Q1, Q2 and their targets.
  std::unique_ptr<torch::optim::Adam> actor_opt_, value_opt_;
};

}  // namespace

RESACT_REGISTER_ALGORITHM("iql", Iql, 5);

}  // namespace learners
}  // namespace resact
