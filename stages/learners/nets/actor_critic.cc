#include "stages/learners/nets/actor_critic.h"

namespace resact {
namespace learners {

torch::nn::Sequential MakeActor(const AlgoContext& ctx) {
  return MakeMlp(ctx.state_dim, ctx.hidden, ctx.action_dim, /*tanh_out=*/true);
}

torch::nn::Sequential MakeCritic(const AlgoContext& ctx) {
  return MakeMlp(ctx.state_dim + ctx.action_dim, ctx.hidden, 1);
}

DeterministicActor::DeterministicActor(const AlgoContext& ctx)
    : net_(MakeActor(ctx)), target_(MakeActor(ctx)), pass_(net_), target_pass_(target_) {
  HardUpdate(*target_, *net_);
  optimizer_ = MakeAdam(*net_, ctx.options.common().lr());
}

torch::Tensor DeterministicActor::Target(const torch::Tensor& state) {
  return target_pass_.Forward(state);
}

void DeterministicActor::StepFromGrad(const torch::Tensor& grad_action) {
  ZeroGrad(*optimizer_);
  pass_.Backward(grad_action, /*param_grads=*/true, /*input_grad=*/false);
  optimizer_->step();
}

void DeterministicActor::AppendModules(NamedModules* out) {
  out->push_back({"actor", net_.ptr().get()});
  out->push_back({"actor_target", target_.ptr().get()});
}

void DeterministicActor::AppendOptimizers(NamedOptimizers* out) {
  out->push_back({"actor", optimizer_.get()});
}

CriticEnsemble::CriticEnsemble(const AlgoContext& ctx, int n)
    : gamma_(ctx.options.common().gamma()), state_dim_(ctx.state_dim) {
  for (int k = 0; k < n; ++k) {
    q_.push_back(MakeCritic(ctx));
    online_->push_back(q_.back());
    pass_.emplace_back(q_.back());
  }
  for (int k = 0; k < n; ++k) {
    q_target_.push_back(MakeCritic(ctx));
    HardUpdate(*q_target_.back(), *q_[k]);
    target_->push_back(q_target_.back());
    target_pass_.emplace_back(q_target_.back());
  }
  optimizer_ = MakeAdam(*online_, ctx.options.common().lr());
}

torch::Tensor CriticEnsemble::Q(int k, const torch::Tensor& state, const torch::Tensor& action) {
  return q_[k]->forward(torch::cat({state, action}, 1));
}

torch::Tensor CriticEnsemble::Forward(int k, const torch::Tensor& state,
                                      const torch::Tensor& action) {
  return pass_[k].Forward(torch::cat({state, action}, 1));
}

torch::Tensor CriticEnsemble::ActionGrad(int k, const torch::Tensor& grad_q) {
  return pass_[k].Backward(grad_q, /*param_grads=*/false, /*input_grad=*/true,
                          /*input_from=*/state_dim_);
}

torch::Tensor CriticEnsemble::Target(const TensorBatch& batch, const torch::Tensor& next_action) {
  torch::NoGradGuard no_grad;
  const torch::Tensor sa = torch::cat({batch.next_state, next_action}, 1);
  torch::Tensor q = target_pass_[0].Forward(sa);
  for (size_t k = 1; k < target_pass_.size(); ++k) q = torch::min(q, target_pass_[k].Forward(sa));
  return batch.reward + gamma_ * (1 - batch.done) * q;
}

void CriticEnsemble::Update(const TensorBatch& batch, const torch::Tensor& y, Metrics* metrics) {
  torch::NoGradGuard no_grad;
  const torch::Tensor sa = torch::cat({batch.state, batch.action}, 1);
  // Σ_k mean((Q_k − y)²); dL/dQ_k = 2·(Q_k − y)/B.
  const double scale = 2.0 / static_cast<double>(y.numel());
  ZeroGrad(*optimizer_);
  torch::Tensor loss, q1_mean;
  for (size_t k = 0; k < pass_.size(); ++k) {
    const torch::Tensor q = pass_[k].Forward(sa);
    if (k == 0) q1_mean = q.mean();
    const torch::Tensor diff = q - y;
    const torch::Tensor mse = diff.square().mean();
    loss = k == 0 ? mse : loss + mse;
    pass_[k].Backward(diff.mul_(scale), /*param_grads=*/true, /*input_grad=*/false);
  }
  optimizer_->step();
  metrics->push_back({"critic_loss", loss.item<double>()});
  metrics->push_back({"q_mean", q1_mean.item<double>()});
}

void CriticEnsemble::SoftUpdateTargets(double tau) {
  for (size_t k = 0; k < q_.size(); ++k) SoftUpdate(*q_target_[k], *q_[k], tau);
}

void CriticEnsemble::AppendModules(NamedModules* out) {
  out->push_back({"critic", online_.ptr().get()});
  out->push_back({"critic_target", target_.ptr().get()});
}

void CriticEnsemble::AppendOptimizers(NamedOptimizers* out) {
  out->push_back({"critic", optimizer_.get()});
}

torch::Tensor CriticEnsemble::TargetQ(int k, const torch::Tensor& state,
                                      const torch::Tensor& action) {
  return q_target_[k]->forward(torch::cat({state, action}, 1));
}

torch::Tensor CriticEnsemble::AutogradUpdate(const TensorBatch& batch, const torch::Tensor& y,
                                             torch::Tensor* q1) {
  std::vector<torch::Tensor> q;
  for (int k = 0; k < size(); ++k) q.push_back(Q(k, batch.state, batch.action));
  torch::Tensor loss = torch::mse_loss(q[0], y);
  for (int k = 1; k < size(); ++k) loss = loss + torch::mse_loss(q[k], y);
  ZeroGrad(*optimizer_);
  loss.backward();
  optimizer_->step();
  *q1 = q[0];
  return loss;
}

void CriticEnsemble::AppendEachModule(NamedModules* out) {
  for (int k = 0; k < size(); ++k) {
    out->push_back({absl::StrCat("q", k + 1), q_[k].ptr().get()});
  }
  for (int k = 0; k < size(); ++k) {
    out->push_back({absl::StrCat("q", k + 1, "_target"), q_target_[k].ptr().get()});
  }
}

ActorObjective MaxQ(const torch::Tensor& q) {
  torch::NoGradGuard no_grad;
  ActorObjective o;
  o.value = -q.mean().item<double>();
  o.grad_q = torch::full_like(q, -1.0 / static_cast<double>(q.numel()));
  return o;
}

ActorObjective MaxQWithBehaviourCloning(const torch::Tensor& pi, const torch::Tensor& q,
                                        const torch::Tensor& behaviour, double alpha,
                                        Metrics* metrics) {
  torch::NoGradGuard no_grad;
  const double lambda = alpha / q.abs().mean().item<double>();
  torch::Tensor diff = pi - behaviour;
  const double bc = diff.square().mean().item<double>();
  ActorObjective o;
  o.value = -lambda * q.mean().item<double>() + bc;
  o.grad_q = torch::full_like(q, -lambda / static_cast<double>(q.numel()));
  o.grad_pi = diff.mul_(2.0 / static_cast<double>(diff.numel()));
  metrics->push_back({"bc_loss", bc});
  metrics->push_back({"lambda", lambda});
  return o;
}

double ActorStep(
    DeterministicActor& actor, CriticEnsemble& critics, const torch::Tensor& state,
    const std::function<ActorObjective(const torch::Tensor& pi, const torch::Tensor& q)>&
        objective) {
  torch::NoGradGuard no_grad;
  const torch::Tensor pi = actor.Forward(state);
  const ActorObjective o = objective(pi, critics.Forward(0, state, pi));
  torch::Tensor grad_action =
      o.grad_q.defined() ? critics.ActionGrad(0, o.grad_q) : torch::zeros_like(pi);
  if (o.grad_pi.defined()) grad_action.add_(o.grad_pi);
  actor.StepFromGrad(grad_action);
  return o.value;
}

}  // namespace learners
}  // namespace resact
