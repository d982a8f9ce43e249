// td3: twin critics, target smoothing, delayed actor (method.md section 2).
#include "stages/learners/algorithms/td3.h"

namespace resact {
namespace learners {

Td3::Td3(AlgoContext& ctx) : ctx_(ctx), actor_(ctx), critics_(ctx, 2) {}

Metrics Td3::Update(const TensorBatch& b) {
  const Td3Options& o = ctx_.options.td3();
  Metrics m;
  torch::Tensor next_action;
  {
    torch::NoGradGuard no_grad;
    next_action = actor_.Target(b.next_state);
    if (o.policy_noise() > 0) {
      const torch::Tensor noise = (Randn(ctx_, next_action.sizes()) * o.policy_noise())
                                      .clamp(-o.noise_clip(), o.noise_clip());
      next_action = (next_action + noise).clamp(-1.0, 1.0);
    }
  }
  critics_.Update(b, critics_.Target(b, next_action), &m);
  if (updates_->Increment() % std::max(1, o.policy_delay()) == 0) {
    const double loss = ActorStep(actor_, critics_, b.state,
                                  [&](const torch::Tensor& pi, const torch::Tensor& q) {
                                    return Objective(b, pi, q, &m);
                                  });
    m.push_back({"actor_loss", loss});
    const double tau = ctx_.options.common().tau();
    critics_.SoftUpdateTargets(tau);
    actor_.SoftUpdateTarget(tau);
  }
  return m;
}

ActorObjective Td3::Objective(const TensorBatch&, const torch::Tensor&, const torch::Tensor& q,
                              Metrics*) {
  return MaxQ(q);
}

NamedModules Td3::Modules() {
  NamedModules out;
  actor_.AppendModules(&out);
  critics_.AppendModules(&out);
  out.push_back({"updates", updates_.ptr().get()});
  return out;
}

NamedOptimizers Td3::Optimizers() {
  NamedOptimizers out;
  actor_.AppendOptimizers(&out);
  critics_.AppendOptimizers(&out);
  return out;
}

RESACT_REGISTER_ALGORITHM("td3", Td3, 2);

}  // namespace learners
}  // namespace resact
