// The shared learner core (LibTorch). The eight algorithms differ only in
// their networks and update rule; everything else lives here: tensors from
// replay samples, the MLP builder, target-network soft updates, seeding,
// NaN/Inf checks, checkpoints with exact resume, and the algorithm registry.
// Only learner code includes this header (it includes torch).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/status.h"
#include "stages/learners/learner_options.pb.h"

namespace resact {
struct ReplaySample;
namespace learners {

// A training batch as float32 CPU tensors; states are already normalized.
struct TensorBatch {
  torch::Tensor state;       // [B × state_dim]
  torch::Tensor next_state;  // [B × state_dim]
  torch::Tensor action;      // [B × action_dim], in [-1, 1]
  torch::Tensor reward;      // [B × 1], the task's reward (scaled)
  torch::Tensor done;        // [B × 1], 1 at the user's last request
  torch::Tensor r_session;   // [B] int64: the task's session reward level 0..5
                             // at session ends, -1 elsewhere (ResAct's classifier)
};

// What an algorithm is built from.
struct AlgoContext {
  int state_dim = 0;
  int action_dim = 0;
  // s_h = state[:, :session_dim], s_l = state[:, session_dim:].
  int session_dim = 0;
  // Reward levels of the task's session reward (0..max_level).
  int max_level = 5;
  LearnerOptions options;
  std::vector<int> hidden;  // Parsed options.common().hidden().
  // Per-learner random stream for noise and latent samples.
  torch::Generator generator;
};

using Metrics = std::vector<std::pair<std::string, double>>;

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  // One gradient step. Returns named losses and Q statistics, e.g.
  // {"critic_loss", ...}, {"actor_loss", ...}, {"q_mean", ...}.
  virtual Metrics Update(const TensorBatch& batch) = 0;
  // Deterministic actions in [-1, 1] for normalized states [n × state_dim].
  // Called under torch::NoGradGuard; must not change any state other than
  // drawing from the generator.
  virtual torch::Tensor Act(const torch::Tensor& state) = 0;
  // Every module and optimizer, by a stable name, for checkpoints.
  virtual std::vector<std::pair<std::string, torch::nn::Module*>> Modules() = 0;
  virtual std::vector<std::pair<std::string, torch::optim::Optimizer*>> Optimizers() = 0;
};

using AlgorithmFactory = std::function<std::unique_ptr<Algorithm>(AlgoContext& ctx)>;

// Algorithms by name ("td3_bc", ...). Registration: one line per algorithm,
//   RESACT_REGISTER_ALGORITHM("td3_bc", Td3Bc);
// where Td3Bc has a constructor Td3Bc(AlgoContext&).
std::map<std::string, AlgorithmFactory>& AlgorithmRegistry();
bool RegisterAlgorithm(const std::string& name, AlgorithmFactory factory);
// Builds algorithm `name` on `ctx`, which must outlive it. The constructor
// runs under a process-wide mutex right after torch::manual_seed(seed), so
// module weights depend on the seed only, even with several learners in one
// process. When ctx.generator is undefined it is created from the seed (a
// stream separate from the weights). NotFound lists the known names; a
// duplicate registration or a LibTorch exception in the constructor is an
// error naming the algorithm. Constructors must draw every other random
// number from ctx.generator (Randn), never from torch's global generator.
absl::StatusOr<std::unique_ptr<Algorithm>> CreateAlgorithm(const std::string& name,
                                                           AlgoContext& ctx);

// ---- Building blocks ----

// Linear layers with ReLU between them: in → hidden... → out; tanh on the
// output when `tanh_out`.
torch::nn::Sequential MakeMlp(int in, const std::vector<int>& hidden, int out,
                              bool tanh_out = false);
// target ← τ·source + (1 − τ)·target, parameter by parameter.
void SoftUpdate(torch::nn::Module& target, const torch::nn::Module& source, double tau);
// target ← source.
void HardUpdate(torch::nn::Module& target, const torch::nn::Module& source);
// Adam over `module`'s parameters with the common learning rate (timed for
// OptimizerStepSeconds).
std::unique_ptr<torch::optim::Adam> MakeAdam(torch::nn::Module& module, double lr);
// Standard normal noise of `sizes` from the context's generator.
torch::Tensor Randn(AlgoContext& ctx, torch::IntArrayRef sizes);

// Sets every parameter's gradient to undefined (cheaper than zeroing: the next
// backward writes fresh gradients instead of adding to zeros; same numbers).
void ZeroGrad(torch::optim::Optimizer& optimizer);
// Seconds spent in step() of optimizers made by MakeAdam, on this thread, since
// the thread started (benchmarks split update time with it).
double OptimizerStepSeconds();

// A counter of updates that is saved with the checkpoint. Algorithms whose
// Update depends on how many updates came before (TD3's policy delay) keep
// their count in one of these and list it in Modules(), so that a resumed run
// continues the identical trajectory. It has no parameters.
class StepCounterImpl : public torch::nn::Module {
 public:
  int64_t value() const { return value_; }
  // Adds one and returns the new value.
  int64_t Increment() { return ++value_; }
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  int64_t value_ = 0;
};
TORCH_MODULE(StepCounter);

// Parses "256,256".
absl::StatusOr<std::vector<int>> ParseHidden(const std::string& text);
// Non-OK when any metric is NaN or Inf, naming the algorithm, step and metric.
absl::Status CheckFinite(const std::string& algo, int64_t step, const Metrics& metrics);

}  // namespace learners
}  // namespace resact

#define RESACT_REGISTER_ALGORITHM(name, Class)                                      \
  static const bool RESACT_CONCAT_(resact_algo_registered_, Class) [[maybe_unused]] = \
      ::resact::learners::RegisterAlgorithm(                                          \
          name, [](::resact::learners::AlgoContext& ctx) {                            \
            return std::unique_ptr<::resact::learners::Algorithm>(new Class(ctx));    \
          })
