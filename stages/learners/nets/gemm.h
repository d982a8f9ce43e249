// Float32 matrix products for the learners' networks (Dense layers and
// MlpPass), on oneDNN's sgemm (libdnnl, the Debian library LibTorch itself
// links).
// oneDNN picks its kernels for the CPU at run time (AVX-512 where present).
// Measured on the development machine (2 cores, AVX-512): a 256×256×256
// product takes 140 µs on one thread, as fast as LibTorch's matmul through
// OpenBLAS on both cores (140-147 µs), and one-column products 2.5 µs
// instead of 10-15 µs.
//
// Threads: RESACT_GEMM_THREADS when set, else 1, so the products run on the
// calling thread and leave the other cores to the pipeline's other stages
// and to the experiment's other cells. Measured with two threads on the
// development machine: a td3_bc step 1.5 ms instead of 2.4 ms, a ResAct step
// 6.0 ms instead of 6.9 ms; but when LibTorch's own products (OpenBLAS's
// threads) run in the same steps, oneDNN's OpenMP threads and OpenBLAS's
// threads compete for the cores, and a ResAct step whose critics alone used
// MatMul was 2.4-2.9× slower.
#pragma once

#include <torch/torch.h>

namespace resact {
namespace learners {

// op(a)·op(b), where op transposes when `trans_*` is set. Both are 2-D
// float32 CPU tensors whose columns are contiguous (stride(1) == 1; a row
// stride larger than the width, as in a column slice, is fine); others are
// made contiguous first. Returns a new [m × n] tensor.
torch::Tensor MatMul(const torch::Tensor& a, bool trans_a, const torch::Tensor& b, bool trans_b);

// The number of threads MatMul uses.
int GemmThreads();

// y = x·Wᵀ + b with MatMul forward and backward, recorded by autograd (a
// custom Function): dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy.
torch::Tensor DenseLinear(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias);

// A fully connected layer with torch::nn::Linear's parameters ("weight"
// [out × in], "bias" [out]) and initialization, whose products run on
// MatMul. MakeMlp builds its networks from it; checkpoints are the same as
// with torch::nn::Linear.
class DenseImpl : public torch::nn::Module {
 public:
  DenseImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  torch::Tensor bias;
};
TORCH_MODULE(Dense);

}  // namespace learners
}  // namespace resact
