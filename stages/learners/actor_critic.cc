#include "stages/learners/actor_critic.h"

namespace resact {
namespace learners {

torch::nn::Sequential MakeActor(const AlgoContext& ctx) {
  return MakeMlp(ctx.state_dim, ctx.hidden, ctx.action_dim, /*tanh_out=*/true);
}

torch::nn::Sequential MakeCritic(const AlgoContext& ctx) {
  return MakeMlp(ctx.state_dim + ctx.action_dim, ctx.hidden, 1);
}

DeterministicActor::DeterministicActor(const AlgoContext& ctx)
    : net_(MakeActor(ctx)), target_(MakeActor(ctx)) {
  HardUpdate(*target_, *net_);
  optimizer_ = MakeAdam(*net_, ctx.options.common().lr());
}

torch::Tensor DeterministicActor::Target(const torch::Tensor& state) {
  torch::NoGradGuard no_grad;
  return target_->forward(state);
}

void DeterministicActor::Step(const torch::Tensor& loss) {
  ZeroGrad(*optimizer_);
  loss.backward();
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
    : gamma_(ctx.options.common().gamma()) {
  for (int k = 0; k < n; ++k) {
    q_.push_back(MakeCritic(ctx));
    online_->push_back(q_.back());
  }
  for (int k = 0; k < n; ++k) {
    q_target_.push_back(MakeCritic(ctx));
    HardUpdate(*q_target_.back(), *q_[k]);
    target_->push_back(q_target_.back());
  }
  optimizer_ = MakeAdam(*online_, ctx.options.common().lr());
}

torch::Tensor CriticEnsemble::Q(int k, const torch::Tensor& state, const torch::Tensor& action) {
  return q_[k]->forward(torch::cat({state, action}, 1));
}

torch::Tensor CriticEnsemble::Target(const TensorBatch& batch, const torch::Tensor& next_action) {
  torch::NoGradGuard no_grad;
  const torch::Tensor sa = torch::cat({batch.next_state, next_action}, 1);
  torch::Tensor q = q_target_[0]->forward(sa);
  for (size_t k = 1; k < q_target_.size(); ++k) q = torch::min(q, q_target_[k]->forward(sa));
  return batch.reward + gamma_ * (1 - batch.done) * q;
}

void CriticEnsemble::Update(const TensorBatch& batch, const torch::Tensor& y, Metrics* metrics) {
  const torch::Tensor sa = torch::cat({batch.state, batch.action}, 1);
  const torch::Tensor q1 = q_[0]->forward(sa);
  torch::Tensor loss = torch::mse_loss(q1, y);
  for (size_t k = 1; k < q_.size(); ++k) loss = loss + torch::mse_loss(q_[k]->forward(sa), y);
  ZeroGrad(*optimizer_);
  loss.backward();
  optimizer_->step();
  metrics->push_back({"critic_loss", loss.item<double>()});
  metrics->push_back({"q_mean", q1.detach().mean().item<double>()});
}

void CriticEnsemble::SoftUpdateTargets(double tau) {
  for (size_t k = 0; k < q_.size(); ++k) SoftUpdate(*q_target_[k], *q_[k], tau);
}

void CriticEnsemble::SetFrozen(bool frozen) {
  for (auto& p : online_->parameters()) p.set_requires_grad(!frozen);
}

void CriticEnsemble::AppendModules(NamedModules* out) {
  out->push_back({"critic", online_.ptr().get()});
  out->push_back({"critic_target", target_.ptr().get()});
}

void CriticEnsemble::AppendOptimizers(NamedOptimizers* out) {
  out->push_back({"critic", optimizer_.get()});
}

}  // namespace learners
}  // namespace resact
