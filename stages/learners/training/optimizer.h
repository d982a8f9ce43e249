// The learners' optimizer: Adam with torch::optim::Adam's update, state and
// checkpoint format, whose step is one fused pass per parameter
// (../nets/fused_kernels.h) and is timed (OptimizerStepSeconds), plus
// ZeroGrad. Only learner code includes this header (it includes torch).
#pragma once

#include <torch/torch.h>

#include <memory>

namespace resact {
namespace learners {

// Adam over `module`'s parameters with learning rate `lr` (timed for
// OptimizerStepSeconds).
std::unique_ptr<torch::optim::Adam> MakeAdam(torch::nn::Module& module, double lr);

// Sets every parameter's gradient to undefined (cheaper than zeroing: the next
// backward writes fresh gradients instead of adding to zeros; same numbers).
void ZeroGrad(torch::optim::Optimizer& optimizer);
// Seconds spent in step() of optimizers made by MakeAdam, on this thread, since
// the thread started (benchmarks split update time with it).
double OptimizerStepSeconds();

}  // namespace learners
}  // namespace resact
