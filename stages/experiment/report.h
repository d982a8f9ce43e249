// Tables and learning curves from an experiment's evaluations (every
// */evaluations.jsonl under RUN_DIR): `resact report RUN_DIR`, and the
// Experiment stage when its cells finish.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace resact {

struct ReportFiles {
  std::string results_md, results_json;
  std::vector<std::string> figures;
};

// Writes RUN_DIR/results.md, RUN_DIR/results.json and, unless `figures` is
// false, the learning curves RUN_DIR/figures/curve_TASK.png (NCIS) and, on
// simulator evaluations, curve_TASK_sim.png (report_figures.h; gnuplot).
// On simulator evaluations each task's table of true values ends with the
// reference rows: π_β and, when the evaluations have them
// (SimulatorEvaluator { oracles: true }), the greedy and the lookahead
// oracle, then the myopia gap (lookahead minus greedy). Returns the paths.
absl::StatusOr<ReportFiles> WriteReport(const std::string& run_dir, bool figures = true);

}  // namespace resact
