// One fused pass of Adam over a float32 parameter (no torch headers, so this
// file is compiled with its own optimization flags).
#pragma once

#include <cstdint>

namespace resact {
namespace learners {

// For i in [0, n), with the semantics of torch::optim::Adam (no weight
// decay, no amsgrad):
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   p ← p − step_size · m / (√v · inv_sqrt_bc2 + eps)
// where the caller passes step_size = lr / (1 − β1^t) and
// inv_sqrt_bc2 = 1 / √(1 − β2^t). One read of p, g, m, v and one write of
// p, m, v, where torch's Adam makes about eight passes with two temporaries.
void FusedAdamUpdate(float* p, const float* g, float* m, float* v, int64_t n, float beta1,
                     float beta2, float step_size, float inv_sqrt_bc2, float eps);

}  // namespace learners
}  // namespace resact
