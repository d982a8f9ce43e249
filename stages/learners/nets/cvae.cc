#include "stages/learners/nets/cvae.h"

namespace resact {
namespace learners {

CvaeImpl::CvaeImpl(int cond_dim, int action_dim, int latent_dim, const std::vector<int>& hidden)
    : latent_dim_(latent_dim > 0 ? latent_dim : 2 * action_dim) {
  encoder_ = register_module("encoder", MakeMlp(cond_dim + action_dim, hidden, 2 * latent_dim_));
  decoder_ = register_module(
      "decoder", MakeMlp(cond_dim + latent_dim_, hidden, action_dim, /*tanh_out=*/true));
}

CvaeImpl::Output CvaeImpl::forward(const torch::Tensor& cond, const torch::Tensor& action,
                                   const torch::Tensor& noise) {
  const auto h = encoder_->forward(torch::cat({cond, action}, 1)).chunk(2, 1);
  Output out;
  out.mean = h[0];
  out.log_std = h[1].clamp(-4, 15);
  out.recon = Decode(cond, out.mean + out.log_std.exp() * noise);
  return out;
}

CvaeImpl::Losses CvaeImpl::Reconstruction(const torch::Tensor& cond, const torch::Tensor& action,
                                          AlgoContext& ctx) {
  const Output out = forward(cond, action, Randn(ctx, {cond.size(0), latent_dim_}));
  return {torch::mse_loss(out.recon, action), Kl(out)};
}

torch::Tensor CvaeImpl::Decode(const torch::Tensor& cond, const torch::Tensor& z) {
  return decoder_->forward(torch::cat({cond, z}, 1));
}

torch::Tensor CvaeImpl::Kl(const Output& out) {
  return -0.5 * (1 + 2 * out.log_std - out.mean.pow(2) - (2 * out.log_std).exp()).mean();
}

}  // namespace learners
}  // namespace resact
