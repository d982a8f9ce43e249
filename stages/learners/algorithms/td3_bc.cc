// td3_bc (Fujimoto & Gu, 2021): TD3 whose actor also clones the behaviour:
// actor loss −λ·mean Q(s, π(s)) + mean (π(s) − a_on)², λ = α / mean|Q|
// (α = options.td3_bc().alpha(), 2.5; λ is detached). Critics, smoothing and
// delay as TD3 (options.td3()).
#include "stages/learners/algorithms/td3.h"

namespace resact {
namespace learners {
namespace {

class Td3Bc : public Td3 {
 public:
  explicit Td3Bc(AlgoContext& ctx) : Td3(ctx) {}

 protected:
  ActorObjective Objective(const TensorBatch& b, const torch::Tensor& pi, const torch::Tensor& q,
                           Metrics* m) override {
    return MaxQWithBehaviourCloning(pi, q, b.action, ctx_.options.td3_bc().alpha(), m);
  }
};

}  // namespace

RESACT_REGISTER_ALGORITHM("td3_bc", Td3Bc, 3);

}  // namespace learners
}  // namespace resact
