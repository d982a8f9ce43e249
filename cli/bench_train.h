// `resact bench train`: steps per second of one learner on a synthetic
// in-memory dataset, with the step time split into sampling, forward and
// backward passes, and optimizer steps. No torch in this header (the CLI
// includes it); bench_train.cc is torch code, built with the learners only
// (without them, cli/without_learners/ stands in).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace resact {

struct BenchTrainOptions {
  std::string algo = "td3_bc";
  int state_dim = 64;
  int action_dim = 16;
  int batch = 256;
  // Timed gradient steps, after `warmup` untimed ones.
  int64_t steps = 2000;
  int64_t warmup = 50;
  // LibTorch intra-op threads; 0 leaves LibTorch's default. OpenBLAS keeps
  // its own threads either way.
  int threads = 1;
  // Transitions in the synthetic dataset.
  int64_t transitions = 100000;
  uint64_t seed = 0;
  // If set, a Chrome trace of the LibTorch ops of the timed steps is written
  // here (chrome://tracing or Perfetto); the profiler slows every op.
  std::string profile_path;
};

// Runs the benchmark and returns one JSON line:
// {"bench":"train","impl":"resact","algo":…,"steps_per_s":…,"ms_per_step":…,
//  "ms_sample":…,"ms_forward_backward":…,"ms_optimizer":…,…}.
// The dataset is contiguous row-major arrays (states N(0, 1), actions
// uniform in [-1, 1], session-end rewards 0..5 on a quarter of the rows,
// done on 1%); sampling gathers uniformly random rows from them, as the
// replay reader does, and builds the batch tensors.
absl::StatusOr<std::string> BenchTrain(const BenchTrainOptions& options);

}  // namespace resact
