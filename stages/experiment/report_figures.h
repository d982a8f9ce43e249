// The learning-curve figures of `resact report` (report.h): per task and
// metric, the data files figures/curve_TASK[SUFFIX]_LABEL.dat, a gnuplot
// script figures/curve_TASK[SUFFIX].gp and, when gnuplot runs, its png.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace resact {

// step → metric → value, for one (task, algorithm, seed).
using ReportSeries = std::map<int64_t, std::map<std::string, double>>;
// Row label (algorithm or variant) → seed → series, for one task.
using ReportCells = std::map<std::string, std::map<int64_t, ReportSeries>>;

// A reference policy's value drawn across the figure as a horizontal line,
// black or grey, in a dash pattern of its own.
struct ReferenceLine {
  enum Policy { kLoggingPolicy, kGreedyOracle, kLookaheadOracle };
  Policy policy = kLoggingPolicy;
  std::string title;  // The key's entry, e.g. "π_β".
  double value = 0;
};

struct CurveFigure {
  std::string metric;  // Plotted metric, e.g. "ncis" or "sim_reward".
  std::string ylabel;
  std::string suffix;  // File name suffix after the task, e.g. "_sim".
  std::vector<ReferenceLine> references;
};

// The line style of the row at `index` in the report's row order: a colour
// of a 12-colour palette (no black or grey, which the reference lines use)
// and one of gnuplot's 5 dash types, both cycling, so that rows next to each
// other differ in both and the first 60 rows have distinct pairs.
struct CurveStyle {
  std::string color;  // "#rrggbb".
  int dash = 1;       // gnuplot dash type 1..5 (1 solid).
};
CurveStyle CurveStyleOf(int index);

// Writes the figure of `cells` (one task) for `figure`, one curve per label
// in `labels` (the report's row order, so a label keeps its style across
// figures) that has the metric: the mean over seeds at each evaluated step
// and its shaded 95% t-interval. Returns the png's path, or "" when no label
// has the metric or the figure cannot be made (logged; the report goes on).
std::string WriteCurveFigure(const std::string& run_dir, const std::string& task,
                             const ReportCells& cells, const std::vector<std::string>& labels,
                             const CurveFigure& figure);

}  // namespace resact
