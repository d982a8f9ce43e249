// iql: Implicit Q-Learning (Kostrikov et al., 2022), method.md section 2.
// Every step, in the paper's order:
//   - value:  V(s) regresses the expectile τ of min(Q1', Q2')(s, a) over the
//     logged actions: L_V = mean |τ − 1(u < 0)| · u², u = min Q'(s, a) − V(s);
//   - actor:  a deterministic tanh actor π(s), advantage-weighted regression
//     to the logged action: L_π = mean w · ||π(s) − a||²,
//     w = min(exp(β · (min Q'(s, a) − V(s))), max_weight);
//   - critics: twin Q regress y = r + γ(1 − done)·V(s');
//   - targets: Q1', Q2' follow Q1, Q2 by soft updates with τ.
// Acting returns π(s).
//
// Example (configs/algo_iql.pbtxt):
//   algo: "iql"
//   iql { expectile: 0.7 beta: 3 max_weight: 100 }
#include "graph/status.h"
#include "stages/learners/algorithms/algorithm.h"

namespace resact {
namespace learners {
namespace {

class Iql : public Algorithm {
 public:
  explicit Iql(AlgoContext& ctx)
      : ctx_(ctx),
        opt_(ctx.options.iql()),
        actor_(MakeMlp(ctx.state_dim, ctx.hidden, ctx.action_dim, /*tanh_out=*/true)),
        value_(MakeMlp(ctx.state_dim, ctx.hidden, 1)),
        q1_(MakeMlp(ctx.state_dim + ctx.action_dim, ctx.hidden, 1)),
        q2_(MakeMlp(ctx.state_dim + ctx.action_dim, ctx.hidden, 1)),
        q1_target_(MakeMlp(ctx.state_dim + ctx.action_dim, ctx.hidden, 1)),
        q2_target_(MakeMlp(ctx.state_dim + ctx.action_dim, ctx.hidden, 1)) {
    HardUpdate(*q1_target_, *q1_);
    HardUpdate(*q2_target_, *q2_);
    critics_.register_module("q1", q1_);
    critics_.register_module("q2", q2_);
    const double lr = ctx.options.common().lr();
    actor_opt_ = MakeAdam(*actor_, lr);
    value_opt_ = MakeAdam(*value_, lr);
    critic_opt_ = MakeAdam(critics_, lr);
  }

  Metrics Update(const TensorBatch& b) override {
    const auto& common = ctx_.options.common();
    torch::Tensor target_q;
    {
      torch::NoGradGuard no_grad;
      auto sa = torch::cat({b.state, b.action}, 1);
      target_q = torch::min(q1_target_->forward(sa), q2_target_->forward(sa));
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
    auto sa = torch::cat({b.state, b.action}, 1);
    auto q1 = q1_->forward(sa);
    auto q2 = q2_->forward(sa);
    auto critic_loss = torch::mse_loss(q1, y) + torch::mse_loss(q2, y);
    ZeroGrad(*critic_opt_);
    critic_loss.backward();
    critic_opt_->step();

    SoftUpdate(*q1_target_, *q1_, common.tau());
    SoftUpdate(*q2_target_, *q2_, common.tau());

    return {{"critic_loss", critic_loss.item<double>()},
            {"value_loss", value_loss.item<double>()},
            {"actor_loss", actor_loss.item<double>()},
            {"q_mean", q1.mean().item<double>()},
            {"v_mean", v.mean().item<double>()},
            {"adv_mean", advantage.mean().item<double>()},
            {"weight_mean", weight.mean().item<double>()}};
  }

  torch::Tensor Act(const torch::Tensor& state) override { return actor_->forward(state); }

  std::vector<std::pair<std::string, torch::nn::Module*>> Modules() override {
    return {{"actor", actor_.ptr().get()},     {"value", value_.ptr().get()},
            {"q1", q1_.ptr().get()},           {"q2", q2_.ptr().get()},
            {"q1_target", q1_target_.ptr().get()}, {"q2_target", q2_target_.ptr().get()}};
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> Optimizers() override {
    return {{"actor", actor_opt_.get()}, {"value", value_opt_.get()}, {"critic", critic_opt_.get()}};
  }

 private:
  AlgoContext& ctx_;  // Outlives the algorithm (CreateAlgorithm).
  IqlOptions opt_;
  torch::nn::Sequential actor_, value_;
  torch::nn::Sequential q1_, q2_, q1_target_, q2_target_;
  torch::nn::Module critics_;  // q1 and q2, for one optimizer.
  std::unique_ptr<torch::optim::Adam> actor_opt_, value_opt_, critic_opt_;
};

}  // namespace

RESACT_REGISTER_ALGORITHM("iql", Iql);

}  // namespace learners
}  // namespace resact
