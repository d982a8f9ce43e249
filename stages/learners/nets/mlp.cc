#include "stages/learners/nets/mlp.h"

#include "glog/logging.h"
#include "stages/learners/nets/fused_kernels.h"
#include "stages/learners/nets/gemm.h"

namespace resact {
namespace learners {

torch::nn::Sequential MakeMlp(int in, const std::vector<int>& hidden, int out, bool tanh_out) {
  torch::nn::Sequential seq;
  int width = in;
  for (int h : hidden) {
    seq->push_back(Dense(width, h));
    // In place on the Linear's fresh output, which its backward does not
    // keep: one activation buffer less per layer.
    seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    width = h;
  }
  seq->push_back(Dense(width, out));
  if (tanh_out) seq->push_back(torch::nn::Tanh());
  return seq;
}

void SoftUpdate(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard no_grad;
  const auto tp = target.parameters();
  const auto sp = source.parameters();
  CHECK_EQ(tp.size(), sp.size()) << "SoftUpdate: modules differ";
  for (size_t i = 0; i < tp.size(); ++i) {
    torch::Tensor t = tp[i];
    const torch::Tensor& s = sp[i];
    // t ← t + τ·(s − t) = τ·s + (1 − τ)·t in one pass. torch's lerp_ with a
    // scalar weight made a soft update of TD3's six networks cost 4-5% of a
    // step.
    if (t.scalar_type() == torch::kFloat32 && s.scalar_type() == torch::kFloat32 &&
        t.is_contiguous() && s.is_contiguous() && t.sizes() == s.sizes()) {
      FusedLerp(t.data_ptr<float>(), s.data_ptr<float>(), t.numel(), static_cast<float>(tau));
      torch::autograd::impl::bump_version(t);
    } else {
      t.lerp_(s, tau);
    }
  }
  const auto tb = target.buffers();
  const auto sb = source.buffers();
  CHECK_EQ(tb.size(), sb.size()) << "SoftUpdate: modules differ";
  for (size_t i = 0; i < tb.size(); ++i) tb[i].copy_(sb[i]);
}

void HardUpdate(torch::nn::Module& target, const torch::nn::Module& source) {
  torch::NoGradGuard no_grad;
  const auto tp = target.parameters();
  const auto sp = source.parameters();
  CHECK_EQ(tp.size(), sp.size()) << "HardUpdate: modules differ";
  for (size_t i = 0; i < tp.size(); ++i) tp[i].copy_(sp[i]);
  const auto tb = target.buffers();
  const auto sb = source.buffers();
  CHECK_EQ(tb.size(), sb.size()) << "HardUpdate: modules differ";
  for (size_t i = 0; i < tb.size(); ++i) tb[i].copy_(sb[i]);
}

}  // namespace learners
}  // namespace resact
