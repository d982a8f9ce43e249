// The Algorithm interface of the learners and their registry (LibTorch).
// The eight algorithms (this folder: il, il_cvae, ddpg, td3, td3_bc, bcq,
// iql, resact) differ only in their networks and update rule; the training
// loop (../training/) feeds them TensorBatches, the networks they are built
// from live in ../nets/. The registry is the one source of the algorithm
// names (and their display order in experiments and reports) and of the
// task names.
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
#include "absl/strings/str_cat.h"
#include "graph/status.h"
#include "stages/learners/learner_options.pb.h"
#include "stages/learners/training/tensor_batch.h"

namespace resact {
namespace learners {

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
using NamedModules = std::vector<std::pair<std::string, torch::nn::Module*>>;
using NamedOptimizers = std::vector<std::pair<std::string, torch::optim::Optimizer*>>;

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
  // For algorithms that act by picking the best-scored of several candidate
  // actions (ResAct, BCQ): the number of candidates per state, and the
  // candidates [n × k × action_dim] with their scores [n × k] (the critic's
  // Q1) that Act picks among, on the same draws as Act. 0 and {} otherwise.
  virtual int NumCandidates() const { return 0; }
  virtual std::pair<torch::Tensor, torch::Tensor> ScoredCandidates(const torch::Tensor& state) {
    return {};
  }
  // Every module and optimizer, by a stable name, for checkpoints.
  virtual NamedModules Modules() = 0;
  virtual NamedOptimizers Optimizers() = 0;
};

using AlgorithmFactory = std::function<std::unique_ptr<Algorithm>(AlgoContext& ctx)>;

// Algorithms by name ("td3_bc", ...). Registration: one line per algorithm,
//   RESACT_REGISTER_ALGORITHM("td3_bc", Td3Bc, /*display_order=*/3);
// where Td3Bc has a constructor Td3Bc(AlgoContext&). The display order ranks
// the algorithm in AlgorithmNames().
std::map<std::string, AlgorithmFactory>& AlgorithmRegistry();
bool RegisterAlgorithm(const std::string& name, AlgorithmFactory factory,
                       int display_order = 1000);
// The registered names by display order (resact, ddpg, td3, td3_bc, bcq,
// iql, il, il_cvae): the experiment's default grid and its report rows.
std::vector<std::string> AlgorithmNames();
// Builds algorithm `name` on `ctx`, which must outlive it. The constructor
// runs under a process-wide mutex right after torch::manual_seed(seed), so
// module weights depend on the seed only, even with several learners in one
// process. When ctx.hidden is empty it is parsed from the options; when
// ctx.generator is undefined it is created from the seed (a stream separate
// from the weights). NotFound lists the known names; a duplicate
// registration or a LibTorch exception in the constructor is an error naming
// the algorithm. Constructors must draw every other random number from
// ctx.generator (Randn), never from torch's global generator.
absl::StatusOr<std::unique_ptr<Algorithm>> CreateAlgorithm(const std::string& name,
                                                           AlgoContext& ctx);

// Runs `build` (which constructs modules) under the same process-wide mutex
// and torch::manual_seed(seed) as CreateAlgorithm, so that its weights depend
// on the seed only; a LibTorch exception becomes an error prefixed with
// `what`. For networks built outside an Algorithm (the evaluators' FQE).
absl::Status BuildSeeded(const std::string& what, uint64_t seed,
                         const std::function<void()>& build);

// "return_time", "session_length" or "both" (the Task's name in lower case;
// an unknown value reads as return_time): run directories, experiment cells
// and reports name tasks so.
std::string TaskName(LearnerOptions::Task task);

// Standard normal noise of `sizes` from the context's generator.
torch::Tensor Randn(AlgoContext& ctx, torch::IntArrayRef sizes);

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

// Runs `fn` (returning absl::Status), turning a LibTorch or standard
// exception into an InternalError prefixed with `prefix`.
template <class Fn>
absl::Status TorchGuard(const std::string& prefix, Fn&& fn) {
  try {
    return fn();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(prefix, e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(prefix, e.what()));
  }
}

}  // namespace learners
}  // namespace resact

#define RESACT_REGISTER_ALGORITHM(name, Class, display_order)                        \
  static const bool RESACT_CONCAT_(resact_algo_registered_, Class) [[maybe_unused]] = \
      ::resact::learners::RegisterAlgorithm(                                          \
          name,                                                                       \
          [](::resact::learners::AlgoContext& ctx) {                                  \
            return std::unique_ptr<::resact::learners::Algorithm>(new Class(ctx));    \
          },                                                                          \
          display_order)
