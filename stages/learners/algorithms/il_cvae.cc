// il_cvae: behaviour cloning with a conditional VAE over a_on given s
// (cvae.h). Trains on MSE(D(s, z), a_on) + kl_weight·KL with z drawn from the
// encoder (noise from the learner's generator); acts by decoding the prior
// mean, D(s, 0). Latent size options.il_cvae().latent_dim(), 0 = 2·action_dim.
#include "stages/learners/nets/actor_critic.h"
#include "stages/learners/nets/cvae.h"

namespace resact {
namespace learners {
namespace {

class IlCvae : public Algorithm {
 public:
  explicit IlCvae(AlgoContext& ctx)
      : ctx_(ctx), vae_(ctx.state_dim, ctx.action_dim, ctx.options.il_cvae().latent_dim(), ctx.hidden) {
    optimizer_ = MakeAdam(*vae_, ctx.options.common().lr());
  }

  Metrics Update(const TensorBatch& b) override {
    const CvaeImpl::Losses rec = vae_->Reconstruction(b.state, b.action, ctx_);
    const torch::Tensor loss = rec.recon + ctx_.options.il_cvae().kl_weight() * rec.kl;
    ZeroGrad(*optimizer_);
    loss.backward();
    optimizer_->step();
    return {{"loss", loss.item<double>()},
            {"recon_loss", rec.recon.item<double>()},
            {"kl", rec.kl.item<double>()}};
  }

  torch::Tensor Act(const torch::Tensor& state) override {
    return vae_->Decode(state, torch::zeros({state.size(0), vae_->latent_dim()}));
  }
  NamedModules Modules() override { return {{"vae", vae_.ptr().get()}}; }
  NamedOptimizers Optimizers() override { return {{"vae", optimizer_.get()}}; }

 private:
  AlgoContext& ctx_;
  Cvae vae_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace

RESACT_REGISTER_ALGORITHM("il_cvae", IlCvae, 7);

}  // namespace learners
}  // namespace resact
