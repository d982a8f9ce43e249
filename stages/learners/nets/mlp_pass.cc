#include "stages/learners/nets/mlp_pass.h"

#include <glog/logging.h>

#include <memory>
#include <utility>

#include "stages/learners/nets/fused_kernels.h"
#include "stages/learners/nets/gemm.h"

namespace resact {
namespace learners {
namespace {

// param.grad += g (param.grad = g when it has none, as autograd does).
void AddGrad(const torch::Tensor& param, torch::Tensor g) {
  torch::Tensor& grad = const_cast<torch::Tensor&>(param).mutable_grad();
  if (grad.defined()) {
    grad.add_(g);
  } else {
    grad = std::move(g);
  }
}

}  // namespace

MlpPass::MlpPass(const torch::nn::Sequential& net) {
  const auto children = net->children();
  for (size_t i = 0; i < children.size(); ++i) {
    const std::shared_ptr<torch::nn::Module>& child = children[i];
    if (auto dense = std::dynamic_pointer_cast<DenseImpl>(child)) {
      CHECK(i % 2 == 0) << "MlpPass: a Dense at position " << i << " follows another Dense";
      layers_.push_back({dense->weight, dense->bias});
    } else if (std::dynamic_pointer_cast<torch::nn::ReLUImpl>(child)) {
      CHECK(i % 2 == 1 && i + 1 < children.size()) << "MlpPass: a ReLU at position " << i;
    } else if (std::dynamic_pointer_cast<torch::nn::TanhImpl>(child)) {
      CHECK(i + 1 == children.size() && i % 2 == 1) << "MlpPass: a Tanh before the end";
      tanh_out_ = true;
    } else {
      LOG(FATAL) << "MlpPass: unsupported layer " << child->name() << " at position " << i;
    }
  }
  CHECK(!layers_.empty()) << "MlpPass: no Dense layer";
  inputs_.resize(layers_.size());
}

torch::Tensor MlpPass::Forward(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  torch::Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    inputs_[i] = h;
    const torch::Tensor& w = layers_[i].weight;
    const torch::Tensor& b = layers_[i].bias;
    const bool relu = i + 1 < layers_.size();
    h = MatMul(h, false, w, true);
    if (b.scalar_type() == torch::kFloat32 && b.is_contiguous() && b.numel() == h.size(1)) {
      AddBiasRelu(h.data_ptr<float>(), b.data_ptr<float>(), h.size(0), h.size(1), relu);
    } else {
      h.add_(b);
      if (relu) h.relu_();
    }
  }
  if (tanh_out_) h.tanh_();
  output_ = h;
  return h;
}

torch::Tensor MlpPass::Backward(const torch::Tensor& grad_output, bool param_grads,
                                bool input_grad, int64_t input_from) {
  CHECK(output_.defined()) << "MlpPass::Backward before Forward";
  CHECK(grad_output.sizes() == output_.sizes())
      << "MlpPass::Backward: gradient " << grad_output.sizes() << " for output "
      << output_.sizes();
  torch::NoGradGuard no_grad;
  torch::Tensor g = tanh_out_ ? at::tanh_backward(grad_output, output_) : grad_output;
  torch::Tensor bias_grad;  // Layer i's, when the ReLU backward above it made it.
  for (size_t i = layers_.size(); i-- > 0;) {
    const torch::Tensor& a = inputs_[i];
    const torch::Tensor& w = layers_[i].weight;
    if (param_grads) {
      AddGrad(w, MatMul(g, true, a, false));
      AddGrad(layers_[i].bias, bias_grad.defined() ? std::move(bias_grad) : g.sum(0));
      bias_grad = torch::Tensor();
    }
    if (i == 0) {
      if (!input_grad) break;
      const torch::Tensor w_in = input_from == 0 ? w : w.slice(1, input_from);
      return MatMul(g, false, w_in, false);
    }
    // dL/da, then through the ReLU on a layer's output: a = relu(pre), so
    // pre > 0 exactly where a > 0. Both g and a are contiguous float32
    // MatMul outputs of the same shape, as ReluBackward needs.
    g = MatMul(g, false, w, false);
    if (param_grads) bias_grad = torch::empty({g.size(1)}, g.options());
    ReluBackward(g.data_ptr<float>(), a.data_ptr<float>(), g.size(0), g.size(1),
                 param_grads ? bias_grad.data_ptr<float>() : nullptr);
  }
  return torch::Tensor();
}

}  // namespace learners
}  // namespace resact
