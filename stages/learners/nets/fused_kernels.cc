#include "stages/learners/nets/fused_kernels.h"

#include <cmath>

// Each kernel is built twice, for AVX2 and for the baseline x86-64 (SSE2),
// and the loader picks the AVX2 build where the CPU has it (GCC function
// multiversioning). No FMA, so both builds round alike.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RESACT_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define RESACT_KERNEL
#endif

namespace resact {
namespace learners {

RESACT_KERNEL void FusedAdamUpdate(float* __restrict p, const float* __restrict g, float* __restrict m,
                     float* __restrict v, int64_t n, float beta1, float beta2, float step_size,
                     float inv_sqrt_bc2, float eps) {
  const float one_minus_beta1 = 1.0f - beta1;
  const float one_minus_beta2 = 1.0f - beta2;
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = beta1 * m[i] + one_minus_beta1 * gi;
    const float vi = beta2 * v[i] + one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
  }
}

RESACT_KERNEL void FusedLerp(float* __restrict t, const float* __restrict s, int64_t n, float tau) {
  for (int64_t i = 0; i < n; ++i) t[i] += tau * (s[i] - t[i]);
}

RESACT_KERNEL void AddBiasRelu(float* __restrict h, const float* __restrict b, int64_t rows,
                               int64_t cols, bool relu) {
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict hr = h + r * cols;
    if (relu) {
      for (int64_t j = 0; j < cols; ++j) {
        const float v = hr[j] + b[j];
        hr[j] = v > 0.0f ? v : 0.0f;
      }
    } else {
      for (int64_t j = 0; j < cols; ++j) hr[j] += b[j];
    }
  }
}

RESACT_KERNEL void ReluBackward(float* __restrict g, const float* __restrict h, int64_t rows, int64_t cols,
                  float* __restrict col_sums) {
  if (col_sums == nullptr) {
    const int64_t n = rows * cols;
    for (int64_t i = 0; i < n; ++i) g[i] = h[i] > 0.0f ? g[i] : 0.0f;
    return;
  }
  for (int64_t j = 0; j < cols; ++j) col_sums[j] = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict gr = g + r * cols;
    const float* __restrict hr = h + r * cols;
    for (int64_t j = 0; j < cols; ++j) {
      const float v = hr[j] > 0.0f ? gr[j] : 0.0f;
      gr[j] = v;
      col_sums[j] += v;
    }
  }
}

}  // namespace learners
}  // namespace resact
