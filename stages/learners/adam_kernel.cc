#include "stages/learners/adam_kernel.h"

#include <cmath>

namespace resact {
namespace learners {

void FusedAdamUpdate(float* __restrict p, const float* __restrict g, float* __restrict m,
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

}  // namespace learners
}  // namespace resact
