// The calibration report of `resact report` on simulator runs (method.md
// section 3): for each estimator and scale, over every cell of the grid (an
// algorithm, task and seed at its last evaluated step), the estimate against
// the simulator's true value of the same policy:
//  - Spearman's rank correlation of estimates and truths,
//  - the mean absolute error,
//  - how often the estimate's 95% CI covers the truth,
//  - how often its verdict "beats π_β" (the estimate above π_β's own
//    estimate in that cell) agrees with the truth's (the true value above
//    π_β's true value for the same held-out users).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "stages/experiment/report_figures.h"

namespace resact {

struct CalibrationRow {
  std::string estimator;  // e.g. "WIS (true π_β)"
  std::string scale;      // "per request" or "per session"
  int cells = 0;
  double spearman = 0, mae = 0, coverage = 0, verdict = 0;
  // Every cell's (estimate, truth), for the figure.
  std::vector<std::pair<double, double>> points;
};

// Rows for the estimators the cells report (task → cells).
std::vector<CalibrationRow> Calibrate(const std::map<std::string, ReportCells>& runs);

// The markdown table of `rows` (empty when there are none).
std::string CalibrationTable(const std::vector<CalibrationRow>& rows);

// Per scale with rows, the figure of every cell's estimate against its true
// value, one point style per estimator, with the line estimate = truth:
// RUN_DIR/figures/calibration_per_request.{gp,png} and _per_session, a data
// file per row beside them. Returns the pngs made (none when gnuplot is
// missing; the scripts are written anyway).
std::vector<std::string> WriteCalibrationFigures(const std::string& run_dir,
                                                 const std::vector<CalibrationRow>& rows);

}  // namespace resact
