// il: behaviour cloning. A tanh actor π(s) regressed onto the logged action
// a_on by mean squared error; acts with π(s).
#include "stages/learners/nets/actor_critic.h"

namespace resact {
namespace learners {
namespace {

class Il : public Algorithm {
 public:
  explicit Il(AlgoContext& ctx) : actor_(MakeActor(ctx)) {
    optimizer_ = MakeAdam(*actor_, ctx.options.common().lr());
  }

  Metrics Update(const TensorBatch& b) override {
    const torch::Tensor loss = torch::mse_loss(actor_->forward(b.state), b.action);
    ZeroGrad(*optimizer_);
    loss.backward();
    optimizer_->step();
    return {{"bc_loss", loss.item<double>()}};
  }

  torch::Tensor Act(const torch::Tensor& state) override { return actor_->forward(state); }
  NamedModules Modules() override { return {{"actor", actor_.ptr().get()}}; }
  NamedOptimizers Optimizers() override { return {{"actor", optimizer_.get()}}; }

 private:
  torch::nn::Sequential actor_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace

RESACT_REGISTER_ALGORITHM("il", Il, 6);

}  // namespace learners
}  // namespace resact
