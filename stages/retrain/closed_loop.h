// ClosedLoopSim (the stage's description and example are in
// closed_loop.cc): daily retraining in a closed loop with the simulator,
// where each day's champion serves the next day's traffic. No torch here.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/payload.h"
#include "graph/registry.h"
#include "stages/retrain/closed_loop_options.pb.h"
#include "stages/retrain/daily_retrain.h"
#include "storage/daily.pb.h"

namespace resact {

// What a closed loop lived, day by day.
struct ClosedLoopReport {
  // The populations that lived the days: "served" (the loop's users, served
  // by each day's champion), "pi_beta" and the oracles ("greedy",
  // "lookahead") as they are on.
  std::vector<std::string> populations;
  // [population][day]: SummarizeDay of the population's sessions that start
  // on the day (reward, r_rt, r_sl, return_hours, session_length with CIs,
  // active_users, requests).
  std::vector<std::vector<MetricsBatch>> metrics;
  std::vector<std::string> served_by;  // Per day: "π_β" or the champion's version.
  std::vector<int64_t> rows;           // Per day: requests logged.
  std::vector<RetrainRun> runs;        // Per day: the retraining after it.
  std::string table;                   // report.md's table.
  std::string figure;                  // The png, or "" without gnuplot.
};

absl::Status CheckClosedLoopOptions(const ClosedLoopOptions& options);

// Runs the loop in `workdir`. A re-run after a crash (or of a finished
// loop) lives the same days again: each day's served model is kept in
// OUT_DIR/served/DAY, so the day's log comes out the same, and its ingest
// and its retraining are then no-ops.
absl::StatusOr<ClosedLoopReport> RunClosedLoop(const ClosedLoopOptions& options,
                                               const std::string& workdir,
                                               const RetrainEnv& env = {});

class ClosedLoopSim : public StageWithOptions<ClosedLoopOptions> {
 public:
  StreamContract Contract() const override { return {{}, {}, /*max_concurrency=*/1}; }
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Generate(Emitter& out) override;

 protected:
  absl::Status Init() override;

 private:
  const StageContext* ctx_ = nullptr;
};

}  // namespace resact
