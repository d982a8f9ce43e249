// ddpg (Lillicrap et al., 2016, as "OurDDPG" in Fujimoto et al., 2018): one
// critic toward y = r + γ·(1 − done)·Q'(s', π'(s')), a deterministic actor
// ascending Q(s, π(s)) every step, and soft target updates.
#include "stages/learners/nets/actor_critic.h"

namespace resact {
namespace learners {
namespace {

class Ddpg : public Algorithm {
 public:
  explicit Ddpg(AlgoContext& ctx) : ctx_(ctx), actor_(ctx), critic_(ctx, 1) {}

  Metrics Update(const TensorBatch& b) override {
    Metrics m;
    critic_.Update(b, critic_.Target(b, actor_.Target(b.next_state)), &m);
    const double loss = ActorStep(actor_, critic_, b.state,
                                  [](const torch::Tensor&, const torch::Tensor& q) {
                                    return MaxQ(q);
                                  });
    m.push_back({"actor_loss", loss});
    const double tau = ctx_.options.common().tau();
    critic_.SoftUpdateTargets(tau);
    actor_.SoftUpdateTarget(tau);
    return m;
  }

  torch::Tensor Act(const torch::Tensor& state) override { return actor_(state); }

  NamedModules Modules() override {
    NamedModules out;
    actor_.AppendModules(&out);
    critic_.AppendModules(&out);
    return out;
  }
  NamedOptimizers Optimizers() override {
    NamedOptimizers out;
    actor_.AppendOptimizers(&out);
    critic_.AppendOptimizers(&out);
    return out;
  }

 private:
  AlgoContext& ctx_;
  DeterministicActor actor_;
  CriticEnsemble critic_;
};

}  // namespace

RESACT_REGISTER_ALGORITHM("ddpg", Ddpg, 1);

}  // namespace learners
}  // namespace resact
