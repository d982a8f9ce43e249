// The learners' multilayer perceptrons and their target-network updates:
// MakeMlp builds Dense (gemm.h) layers with ReLU between them; SoftUpdate
// and HardUpdate move a target network toward its source.
// Only learner code includes this header (it includes torch).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace resact {
namespace learners {

// Linear layers with ReLU between them: in → hidden... → out; tanh on the
// output when `tanh_out`.
torch::nn::Sequential MakeMlp(int in, const std::vector<int>& hidden, int out,
                              bool tanh_out = false);
// target ← τ·source + (1 − τ)·target, parameter by parameter.
void SoftUpdate(torch::nn::Module& target, const torch::nn::Module& source, double tau);
// target ← source.
void HardUpdate(torch::nn::Module& target, const torch::nn::Module& source);

}  // namespace learners
}  // namespace resact
