#include "stages/learners/nets/gemm.h"

#include <glog/logging.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <cstdlib>

namespace resact {
namespace learners {
namespace {

// A 2-D float32 tensor with contiguous columns, as sgemm needs it.
torch::Tensor Operand(const torch::Tensor& t) {
  CHECK_EQ(t.dim(), 2) << "MatMul: a 2-D operand expected, got " << t.sizes();
  CHECK(t.scalar_type() == torch::kFloat32 && t.device().is_cpu())
      << "MatMul: float32 CPU operands expected";
  return t.stride(1) == 1 && t.stride(0) >= t.size(1) ? t : t.contiguous();
}

}  // namespace

int GemmThreads() {
  static const int threads = [] {
    const char* env = std::getenv("RESACT_GEMM_THREADS");
    const int n = env != nullptr ? std::atoi(env) : 0;
    return n > 0 ? n : 1;
  }();
  return threads;
}

torch::Tensor MatMul(const torch::Tensor& a_in, bool trans_a, const torch::Tensor& b_in,
                     bool trans_b) {
  const torch::Tensor a = Operand(a_in);
  const torch::Tensor b = Operand(b_in);
  const int64_t m = trans_a ? a.size(1) : a.size(0);
  const int64_t k = trans_a ? a.size(0) : a.size(1);
  const int64_t n = trans_b ? b.size(0) : b.size(1);
  CHECK_EQ(k, trans_b ? b.size(1) : b.size(0))
      << "MatMul: inner dimensions differ: " << a.sizes() << (trans_a ? "ᵀ" : "") << " · "
      << b.sizes() << (trans_b ? "ᵀ" : "");
  // Named in profiler traces (resact bench train --profile).
  RECORD_FUNCTION("resact::matmul", std::vector<c10::IValue>());
  torch::Tensor c = torch::empty({m, n}, a.options());
  if (m == 0 || n == 0) return c;
  if (k == 0) return c.zero_();
  // oneDNN's OpenMP runtime sizes its team from the calling thread's
  // nthreads setting, which LibTorch keeps at its own intra-op count.
  const int threads = GemmThreads();
  const int before = omp_get_max_threads();
  if (before != threads) omp_set_num_threads(threads);
  const dnnl_status_t status =
      dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a.data_ptr<float>(),
                 a.stride(0), b.data_ptr<float>(), b.stride(0), 0.0f, c.data_ptr<float>(), n);
  if (before != threads) omp_set_num_threads(before);
  CHECK_EQ(status, dnnl_success) << "MatMul: dnnl_sgemm failed for " << m << "×" << k << "×" << n;
  return c;
}

namespace {

class DenseFunction : public torch::autograd::Function<DenseFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    return MatMul(x, false, weight, true).add_(bias);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor& g = grads[0];
    torch::Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) dx = MatMul(g, false, weight, false);
    if (ctx->needs_input_grad(1)) dw = MatMul(g, true, x, false);
    if (ctx->needs_input_grad(2)) db = g.sum(0);
    return {dx, dw, db};
  }
};

}  // namespace

torch::Tensor DenseLinear(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias) {
  if (x.dim() != 2 || x.scalar_type() != torch::kFloat32 || !x.device().is_cpu()) {
    return torch::linear(x, weight, bias);
  }
  return DenseFunction::apply(x, weight, bias);
}

DenseImpl::DenseImpl(int64_t in, int64_t out) {
  // torch::nn::Linear's initialization, drawing the same random numbers.
  torch::nn::Linear init(in, out);
  weight = register_parameter("weight", init->weight);
  bias = register_parameter("bias", init->bias);
}

torch::Tensor DenseImpl::forward(const torch::Tensor& x) { return DenseLinear(x, weight, bias); }

}  // namespace learners
}  // namespace resact
