// A conditional VAE over actions (BCQ's generative model, also il_cvae's and
// usable by ResAct's reconstruction): encoder E(z | c, a) → (μ, log σ) with
// log σ clipped to [−4, 15], decoder D(a | c, z) with tanh output in [-1, 1].
// c is the condition (the state). Losses are means over batch and
// dimensions, as in BCQ: L = MSE(D(c, z), a) + w·KL(E || N(0, I)).
//
//   Cvae vae(ctx.state_dim, ctx.action_dim, /*latent_dim=*/0, ctx.hidden);
//   auto rec = vae->Reconstruction(b.state, b.action, ctx);  // noise from ctx
//   torch::Tensor loss = rec.recon + 0.5 * rec.kl;
//   torch::Tensor a = vae->Decode(state, torch::zeros({n, vae->latent_dim()}));
#pragma once

#include <vector>

#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/nets/mlp.h"

namespace resact {
namespace learners {

class CvaeImpl : public torch::nn::Module {
 public:
  // latent_dim 0 means 2 × action_dim.
  CvaeImpl(int cond_dim, int action_dim, int latent_dim, const std::vector<int>& hidden);

  struct Output {
    torch::Tensor recon;    // D(c, z), [B × action_dim]
    torch::Tensor mean;     // μ, [B × latent_dim]
    torch::Tensor log_std;  // log σ, [B × latent_dim]
  };
  // Encodes (c, a), samples z = μ + σ·noise (noise ~ N(0, I), [B × latent]),
  // decodes.
  Output forward(const torch::Tensor& cond, const torch::Tensor& action,
                 const torch::Tensor& noise);
  // The two terms of the loss on (c, a), z drawn with noise from
  // ctx.generator: recon = MSE(D(c, z), a), kl = Kl(); both means.
  struct Losses {
    torch::Tensor recon;
    torch::Tensor kl;
  };
  Losses Reconstruction(const torch::Tensor& cond, const torch::Tensor& action, AlgoContext& ctx);
  // D(c, z).
  torch::Tensor Decode(const torch::Tensor& cond, const torch::Tensor& z);
  // KL(N(μ, σ²) || N(0, I)) averaged over batch and latent dimensions.
  static torch::Tensor Kl(const Output& out);
  int latent_dim() const { return latent_dim_; }
  // D as a module (e.g. to keep a target copy of it).
  torch::nn::Sequential& decoder() { return decoder_; }

 private:
  int latent_dim_;
  torch::nn::Sequential encoder_, decoder_;
};
TORCH_MODULE(Cvae);

}  // namespace learners
}  // namespace resact
