// Forward and backward of an MLP built by MakeMlp (Dense, ReLU, ...,
// Dense, optional Tanh) without autograd: matrix products on oneDNN's
// sgemm (gemm.h), elementwise work in fused kernels (fused_kernels.h).
//
// The actor-critic learners' updates are a few fixed MLP passes per step.
// Autograd records a graph node for each op, saves its inputs and walks the
// graph back; here the pass keeps each layer's input itself and runs the
// backward products directly, with the same formulas:
//   Linear y = x·Wᵀ + b:  dW = dyᵀ·x,  db = Σ_rows dy,  dx = dy·W
//   ReLU (on its output h):  dpre = dh where h > 0, else 0
//   Tanh (on its output y):  dpre = dy·(1 − y²)
// The bias and ReLU of a layer are one pass over its output.
//
// Gradients equal autograd's up to float summation order. The pass shares
// the module's parameter tensors, so it follows optimizer steps, soft
// updates and checkpoint loads.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace resact {
namespace learners {

class MlpPass {
 public:
  // `net` must alternate Dense and ReLU, end with a Dense, and may add a
  // final Tanh (MakeMlp's layout); anything else is a programming error.
  explicit MlpPass(const torch::nn::Sequential& net);

  // net(x), without gradient. Keeps what Backward needs until the next
  // Forward.
  torch::Tensor Forward(const torch::Tensor& x);

  // From dL/dy for the last Forward's output: with `param_grads`, adds
  // dL/dθ to each parameter's grad (setting it when undefined); with
  // `input_grad`, returns dL/dx for the input columns from `input_from` on
  // (otherwise an undefined tensor). A critic's action gradient needs only
  // the action columns of its input (s, a), which saves most of one product.
  torch::Tensor Backward(const torch::Tensor& grad_output, bool param_grads, bool input_grad,
                         int64_t input_from = 0);

 private:
  // Each layer's parameters: tensors shared with the module, so optimizer
  // steps, soft updates and checkpoint loads (which replace the data in
  // place) show through.
  struct Layer {
    torch::Tensor weight;
    torch::Tensor bias;
  };
  std::vector<Layer> layers_;
  bool tanh_out_ = false;
  std::vector<torch::Tensor> inputs_;  // Each layer's input in the last Forward.
  torch::Tensor output_;
};

}  // namespace learners
}  // namespace resact
