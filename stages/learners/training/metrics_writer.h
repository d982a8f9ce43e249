// The trainer's metrics.jsonl: the mean of each metric over a window of
// steps (eval_every), one JSON line per window,
//   {"algo":…,"step":…,"steps":…,<metric>:mean…,
//    "ms_sample":…,"ms_update":…,"ms_optimizer":…,"ms_step":…}
// where "algo" is the learner's label (else its algorithm).
// Only learner code includes this header (it includes torch).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "stages/learners/algorithms/algorithm.h"

namespace resact {
namespace learners {

// Cumulative wall time of the steps a trainer took.
struct TrainTiming {
  int64_t steps = 0;
  double sample_s = 0;     // Sampling and building the TensorBatch.
  double update_s = 0;     // Algorithm::Update, optimizer steps included.
  double optimizer_s = 0;  // The optimizer steps inside Update.
};

class MetricsWriter {
 public:
  MetricsWriter() = default;
  // Lines go to RUN_DIR/metrics.jsonl; with an empty `run_dir` windows are
  // computed and dropped. `algo` prefixes errors; `label` names the lines.
  MetricsWriter(const std::string& run_dir, std::string algo, std::string label);

  // Adds one step's metrics to the current window.
  void Add(const Metrics& metrics);
  // Appends the window's line at `step` (no-op when the window is empty)
  // and starts a new window at `timing`.
  absl::Status Flush(int64_t step, const TrainTiming& timing);
  // Starts a new window at `timing`, dropping the current one.
  void Restart(const TrainTiming& timing);
  // Rewrites the file keeping the lines up to `step` (after a resume), or
  // none (a fresh run: `resumed` false).
  absl::Status Trim(int64_t step, bool resumed);

 private:
  std::string path_;
  std::string algo_, label_;
  // The current window: per metric name (first-seen order) sum and count.
  std::vector<std::string> names_;
  std::vector<std::pair<double, int64_t>> sums_;
  TrainTiming start_;
};

}  // namespace learners
}  // namespace resact
