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
// false, RUN_DIR/figures/curve_TASK.png (gnuplot). Returns the paths.
absl::StatusOr<ReportFiles> WriteReport(const std::string& run_dir, bool figures = true);


}  // namespace resact
