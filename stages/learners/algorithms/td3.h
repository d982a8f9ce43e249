// TD3 (Fujimoto et al., 2018): twin critics with the clipped double-Q target,
// target policy smoothing (noise std 0.2 clipped at ±0.5), and actor plus
// target updates every policy_delay = 2 critic updates (options.td3()).
// Td3Bc (td3_bc.cc) derives from it and only changes the actor loss.
#pragma once

#include "stages/learners/nets/actor_critic.h"

namespace resact {
namespace learners {

class Td3 : public Algorithm {
 public:
  explicit Td3(AlgoContext& ctx);
  Metrics Update(const TensorBatch& batch) override;
  torch::Tensor Act(const torch::Tensor& state) override { return actor_(state); }
  NamedModules Modules() override;
  NamedOptimizers Optimizers() override;

 protected:
  // The objective the actor descends, at π(s) and Q_1(s, π(s)); may append
  // metrics. TD3: −mean Q_1 (MaxQ).
  virtual ActorObjective Objective(const TensorBatch& batch, const torch::Tensor& pi,
                                   const torch::Tensor& q, Metrics* metrics);

  AlgoContext& ctx_;
  DeterministicActor actor_;
  CriticEnsemble critics_;
  StepCounter updates_;
};

}  // namespace learners
}  // namespace resact
