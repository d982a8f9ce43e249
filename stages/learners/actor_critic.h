// Pieces shared by the actor-critic learners (ddpg, td3, td3_bc; usable by
// bcq, iql and resact): a deterministic tanh actor with its target copy, and
// an ensemble of Q(s, a) critics with target copies trained toward the
// (clipped double-Q) target y = r + γ·(1 − done)·min_k Q'_k(s', a').
// Networks follow method.md section 2: MLPs of options.common().hidden()
// with ReLU, Adam at options.common().lr().
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "stages/learners/learner_core.h"

namespace resact {
namespace learners {

using NamedModules = std::vector<std::pair<std::string, torch::nn::Module*>>;
using NamedOptimizers = std::vector<std::pair<std::string, torch::optim::Optimizer*>>;

// π(s): state_dim → hidden → action_dim, tanh.
torch::nn::Sequential MakeActor(const AlgoContext& ctx);
// Q(s, a): state_dim + action_dim → hidden → 1.
torch::nn::Sequential MakeCritic(const AlgoContext& ctx);

// A deterministic actor π, its target π' (a copy at construction), and Adam.
class DeterministicActor {
 public:
  explicit DeterministicActor(const AlgoContext& ctx);
  torch::Tensor operator()(const torch::Tensor& state) { return net_->forward(state); }
  // π'(s), without gradient.
  torch::Tensor Target(const torch::Tensor& state);
  // One Adam step descending `loss`.
  void Step(const torch::Tensor& loss);
  // π' ← τ·π + (1 − τ)·π'.
  void SoftUpdateTarget(double tau) { SoftUpdate(*target_, *net_, tau); }
  // "actor", "actor_target" / "actor".
  void AppendModules(NamedModules* out);
  void AppendOptimizers(NamedOptimizers* out);
  torch::nn::Sequential& net() { return net_; }

 private:
  torch::nn::Sequential net_, target_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

// n critics Q_1..Q_n (1 for DDPG, 2 for TD3), their targets, one Adam over
// all of them.
class CriticEnsemble {
 public:
  CriticEnsemble(const AlgoContext& ctx, int n);
  int size() const { return static_cast<int>(q_.size()); }
  // Q_k(s, a), [B × 1] (k from 0).
  torch::Tensor Q(int k, const torch::Tensor& state, const torch::Tensor& action);
  // y = r + γ·(1 − done)·min_k Q'_k(s', a'), without gradient; [B × 1].
  torch::Tensor Target(const TensorBatch& batch, const torch::Tensor& next_action);
  // One Adam step on Σ_k MSE(Q_k(s, a_on), y). Appends critic_loss and
  // q_mean (the mean of Q_1(s, a_on)).
  void Update(const TensorBatch& batch, const torch::Tensor& y, Metrics* metrics);
  // Q'_k ← τ·Q_k + (1 − τ)·Q'_k.
  void SoftUpdateTargets(double tau);
  // While frozen, the critics' parameters take no gradient: an actor loss
  // backpropagates through Q to the action only (the same actor gradient,
  // less work).
  void SetFrozen(bool frozen);
  // "critic", "critic_target" / "critic".
  void AppendModules(NamedModules* out);
  void AppendOptimizers(NamedOptimizers* out);

 private:
  double gamma_;
  torch::nn::ModuleList online_, target_;
  std::vector<torch::nn::Sequential> q_, q_target_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace learners
}  // namespace resact
