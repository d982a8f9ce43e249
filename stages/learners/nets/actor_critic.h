// Pieces shared by the actor-critic learners: a deterministic tanh actor with
// its target copy (ddpg, td3, td3_bc), and an ensemble of Q(s, a) critics
// with target copies (ddpg, td3, td3_bc and resact train it toward the
// clipped double-Q target y = r + γ·(1 − done)·min_k Q'_k(s', a') without
// autograd; bcq and iql, whose targets differ, train it through autograd).
// Networks follow method.md section 2: MLPs of options.common().hidden()
// with ReLU, Adam at options.common().lr().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/nets/mlp.h"
#include "stages/learners/nets/mlp_pass.h"
#include "stages/learners/training/optimizer.h"

namespace resact {
namespace learners {

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
  // π(s) without autograd, kept for StepFromGrad (MlpPass).
  torch::Tensor Forward(const torch::Tensor& state) { return pass_.Forward(state); }
  // One Adam step from dL/dπ for the last Forward's output.
  void StepFromGrad(const torch::Tensor& grad_action);
  // π' ← τ·π + (1 − τ)·π'.
  void SoftUpdateTarget(double tau) { SoftUpdate(*target_, *net_, tau); }
  // "actor", "actor_target" / "actor".
  void AppendModules(NamedModules* out);
  void AppendOptimizers(NamedOptimizers* out);
  torch::nn::Sequential& net() { return net_; }

 private:
  torch::nn::Sequential net_, target_;
  MlpPass pass_, target_pass_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

// n critics Q_1..Q_n (1 for DDPG, 2 for TD3, BCQ and IQL), their targets,
// one Adam over all of them. The online critics are built first, then the
// targets (copies of them), in order.
class CriticEnsemble {
 public:
  CriticEnsemble(const AlgoContext& ctx, int n);
  int size() const { return static_cast<int>(q_.size()); }
  // Q_k(s, a), [B × 1] (k from 0), through autograd.
  torch::Tensor Q(int k, const torch::Tensor& state, const torch::Tensor& action);
  // Q_k(s, a) without autograd, kept for ActionGrad (MlpPass).
  torch::Tensor Forward(int k, const torch::Tensor& state, const torch::Tensor& action);
  // dL/da from dL/dQ_k for the last Forward(k, ...); the critic's
  // parameters take no gradient.
  torch::Tensor ActionGrad(int k, const torch::Tensor& grad_q);
  // y = r + γ·(1 − done)·min_k Q'_k(s', a'), without gradient; [B × 1].
  torch::Tensor Target(const TensorBatch& batch, const torch::Tensor& next_action);
  // One Adam step on Σ_k MSE(Q_k(s, a_on), y), without autograd
  // (MlpPass). Appends critic_loss and q_mean (the mean of Q_1(s, a_on)).
  void Update(const TensorBatch& batch, const torch::Tensor& y, Metrics* metrics);
  // Q'_k ← τ·Q_k + (1 − τ)·Q'_k.
  void SoftUpdateTargets(double tau);
  // "critic", "critic_target" / "critic".
  void AppendModules(NamedModules* out);
  void AppendOptimizers(NamedOptimizers* out);

  // Through autograd (bcq, iql):
  // Q'_k(s, a) through the module (under the caller's grad mode), [B × 1].
  torch::Tensor TargetQ(int k, const torch::Tensor& state, const torch::Tensor& action);
  // One Adam step on Σ_k MSE(Q_k(s, a_on), y) by autograd; returns that loss
  // and sets *q1 to Q_1(s, a_on).
  torch::Tensor AutogradUpdate(const TensorBatch& batch, const torch::Tensor& y,
                               torch::Tensor* q1);
  // Q_k's network (e.g. to freeze it while an actor ascends it).
  torch::nn::Sequential& net(int k) { return q_[k]; }
  // Each network under its own name: "q1", …, "qn", then "q1_target", …
  // (bcq's and iql's checkpoint names).
  void AppendEachModule(NamedModules* out);

 private:
  double gamma_;
  int state_dim_;
  torch::nn::ModuleList online_, target_;
  std::vector<torch::nn::Sequential> q_, q_target_;
  std::vector<MlpPass> pass_, target_pass_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

// An actor objective at π(s) and Q_1(s, π(s)): its value and its gradients
// dL/dπ and dL/dQ_1 (an undefined gradient is zero).
struct ActorObjective {
  double value = 0;
  torch::Tensor grad_pi;
  torch::Tensor grad_q;
};

// −mean Q_1: DDPG's and TD3's.
ActorObjective MaxQ(const torch::Tensor& q);
// TD3+BC's −λ·mean Q_1 + mean (π − a_on)², λ = α / mean|Q_1| held constant.
// Appends bc_loss and lambda to `metrics`.
ActorObjective MaxQWithBehaviourCloning(const torch::Tensor& pi, const torch::Tensor& q,
                                        const torch::Tensor& behaviour, double alpha,
                                        Metrics* metrics);

// One step of `actor` on `objective`, evaluated at π(s) and Q_1(s, π(s)).
// Both networks run as MlpPasses: dL/dπ = ∂L/∂π + (∂L/∂Q_1)·∂Q_1/∂a goes
// back through the critic to the action only (the critic's parameters take
// no gradient), then through the actor. `objective` must not change π or Q_1
// in place. Returns the objective's value.
double ActorStep(
    DeterministicActor& actor, CriticEnsemble& critics, const torch::Tensor& state,
    const std::function<ActorObjective(const torch::Tensor& pi, const torch::Tensor& q)>&
        objective);

}  // namespace learners
}  // namespace resact
