// Fused single-pass float32 kernels of the learners: the Adam update, the
// target networks' soft update, and MlpPass's bias-plus-ReLU and ReLU
// backward. No torch headers, so this file is compiled
// with its own optimization flags.
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

// t ← t + τ·(s − t) for i in [0, n): the soft update τ·s + (1 − τ)·t in
// torch's lerp_ form, one read of t and s and one write of t.
void FusedLerp(float* t, const float* s, int64_t n, float tau);

// h[r, j] ← h[r, j] + b[j] over a [rows × cols] row-major h, then
// max(·, 0) when `relu`: a Linear layer's bias and activation in one pass.
void AddBiasRelu(float* h, const float* b, int64_t rows, int64_t cols, bool relu);

// The backward of a ReLU whose output h is [rows × cols] (row-major), in
// place on the gradient g of the same shape: g ← g where h > 0, else 0. When
// `col_sums` is not null, also writes the column sums of the masked g (the
// gradient of the preceding Linear's bias) in the same pass.
void ReluBackward(float* g, const float* h, int64_t rows, int64_t cols, float* col_sums);

}  // namespace learners
}  // namespace resact
