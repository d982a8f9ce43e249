#include "stages/experiment/report_calibration.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "glog/logging.h"
#include "graph/files.h"
#include "stages/evaluators/statistics.h"

namespace resact {
namespace {

struct Estimator {
  std::string name;
  std::string scale;
  std::string metric;          // The estimate; METRIC_ci_low/_ci_high its CI.
  std::string truth;           // The simulator's value of the same policy.
  std::string baseline;        // π_β's own estimate on the same scale.
  std::string baseline_truth;  // π_β's true value for the held-out users.
};

// Each estimator's name and per-request metric; its per-session metric, and
// the truths' and π_β's, add "_per_session".
const std::pair<const char*, const char*> kEstimatorMetrics[] = {
    {"NCIS (fitted π_β)", "ncis"},       {"NCIS (true π_β)", "ncis_true"},
    {"WIS (fitted π_β)", "wis"},         {"WIS (true π_β)", "wis_true"},
    {"NCIS (serve prob.)", "ncis_serve"}, {"WIS (serve prob.)", "wis_serve"},
    {"FQE", "fqe"},                      {"DR (fitted π_β)", "dr"},
    {"DR (true π_β)", "dr_true"},        {"DR (serve prob.)", "dr_serve"},
};

// Every estimator per request, then every one per session.
std::vector<Estimator> Estimators() {
  std::vector<Estimator> out;
  for (const char* scale : {"per request", "per session"}) {
    const std::string suffix = std::string(scale) == "per session" ? "_per_session" : "";
    for (const auto& [name, metric] : kEstimatorMetrics) {
      out.push_back({name, scale, metric + suffix, "sim_reward" + suffix,
                     "logged_reward" + suffix, "sim_behaviour_reward" + suffix});
    }
  }
  return out;
}

// The metrics of a seed's last step that has both `a` and `b`, or null.
const std::map<std::string, double>* LastWithBoth(const ReportSeries& series,
                                                  const std::string& a, const std::string& b) {
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    if (it->second.count(a) && it->second.count(b)) return &it->second;
  }
  return nullptr;
}

}  // namespace

std::vector<CalibrationRow> Calibrate(const std::map<std::string, ReportCells>& runs) {
  std::vector<CalibrationRow> rows;
  for (const Estimator& e : Estimators()) {
    CalibrationRow row;
    row.estimator = e.name;
    row.scale = e.scale;
    std::vector<double> est, truth;
    int covered = 0, with_ci = 0, agree = 0, with_verdict = 0;
    for (const auto& [task, cells] : runs) {
      for (const auto& [label, seeds] : cells) {
        for (const auto& [seed, series] : seeds) {
          const auto* m = LastWithBoth(series, e.metric, e.truth);
          if (m == nullptr) continue;
          const double v = m->at(e.metric), t = m->at(e.truth);
          if (!std::isfinite(v) || !std::isfinite(t)) continue;
          est.push_back(v);
          truth.push_back(t);
          row.points.push_back({v, t});
          auto lo = m->find(absl::StrCat(e.metric, "_ci_low"));
          auto hi = m->find(absl::StrCat(e.metric, "_ci_high"));
          if (lo != m->end() && hi != m->end()) {
            ++with_ci;
            covered += lo->second <= t && t <= hi->second;
          }
          auto b = m->find(e.baseline), bt = m->find(e.baseline_truth);
          if (b != m->end() && bt != m->end()) {
            ++with_verdict;
            agree += (v > b->second) == (t > bt->second);
          }
        }
      }
    }
    row.cells = static_cast<int>(est.size());
    if (row.cells == 0) continue;
    row.spearman = SpearmanCorrelation(est, truth);
    double abs_err = 0;
    for (size_t i = 0; i < est.size(); ++i) abs_err += std::abs(est[i] - truth[i]);
    row.mae = abs_err / est.size();
    row.coverage = with_ci > 0 ? static_cast<double>(covered) / with_ci : NAN;
    row.verdict = with_verdict > 0 ? static_cast<double>(agree) / with_verdict : NAN;
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string CalibrationTable(const std::vector<CalibrationRow>& rows) {
  if (rows.empty()) return "";
  auto pct = [](double x) { return std::isnan(x) ? std::string("–") : absl::StrFormat("%.0f%%", 100 * x); };
  std::string md =
      "\n## Calibration of the estimators against the simulator's truth\n\n"
      "Over every cell (algorithm, task, seed) at its last evaluated step: Spearman's rank "
      "correlation of the estimates with the true values, the mean absolute error, how often the "
      "95% CI covers the true value, and how often the verdict \"beats π_β\" agrees with the "
      "truth's.\n\n"
      "| estimator | scale | cells | Spearman | MAE | CI covers truth | beats-π_β verdict right |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const CalibrationRow& r : rows) {
    absl::StrAppendFormat(&md, "| %s | %s | %d | %s | %.4f | %s | %s |\n", r.estimator, r.scale,
                          r.cells,
                          std::isnan(r.spearman) ? "–" : absl::StrFormat("%.3f", r.spearman),
                          r.mae, pct(r.coverage), pct(r.verdict));
  }
  return md;
}

std::vector<std::string> WriteCalibrationFigures(const std::string& run_dir,
                                                 const std::vector<CalibrationRow>& rows) {
  namespace fs = std::filesystem;
  std::vector<std::string> pngs;
  const fs::path dir = fs::path(run_dir) / "figures";
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const char* scale : {"per request", "per session"}) {
    const std::string tag = absl::StrReplaceAll(scale, {{" ", "_"}});
    std::string plot;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < rows.size(); ++i) {
      const CalibrationRow& r = rows[i];
      if (r.scale != scale || r.points.empty()) continue;
      const fs::path data = dir / absl::StrFormat("calibration_%s_%d.dat", tag, i);
      std::string text = "# true value, estimate (one cell per line)\n";
      for (const auto& [estimate, truth] : r.points) {
        absl::StrAppend(&text, truth, " ", estimate, "\n");
        lo = std::min({lo, estimate, truth});
        hi = std::max({hi, estimate, truth});
      }
      if (absl::Status w = WriteFileAtomically(data.string(), text); !w.ok()) {
        LOG(WARNING) << "calibration figure skipped: " << w;
        return pngs;
      }
      const CurveStyle style = CurveStyleOf(static_cast<int>(i));
      absl::StrAppendFormat(&plot, "%s  '%s' using 1:2 with points pt %d ps 1.1 lc rgb '%s' title '%s'",
                            plot.empty() ? "" : ", \\\n", data.string(), 5 + 2 * (i % 4),
                            style.color, r.estimator);
    }
    if (plot.empty()) continue;
    const double pad = 0.05 * std::max(hi - lo, 1e-6);
    absl::StrAppend(&plot, ", \\\n  x with lines lw 1.5 lc rgb 'black' dt 2 title 'estimate = truth'");
    const fs::path png = dir / absl::StrCat("calibration_", tag, ".png");
    const fs::path script = dir / absl::StrCat("calibration_", tag, ".gp");
    const std::string gp = absl::StrCat(
        "set terminal pngcairo noenhanced size 900,760 font ',11'\n", "set output '", png.string(),
        "'\n", "set title 'Estimators against the simulator''s truth, task reward ", scale,
        " (one point per cell)'\n", "set xlabel 'true value (online, simulator)'\n",
        "set ylabel 'estimate (off-policy, test log)'\n",
        absl::StrFormat("set xrange [%.9g:%.9g]\nset yrange [%.9g:%.9g]\n", lo - pad, hi + pad,
                        lo - pad, hi + pad),
        "set key outside right\nset grid\n", "plot \\\n", plot, "\n");
    if (absl::Status w = WriteFileAtomically(script.string(), gp); !w.ok()) {
      LOG(WARNING) << "calibration figure skipped: " << w;
      return pngs;
    }
    const std::string cmd = absl::StrCat("gnuplot '", script.string(), "' 2>&1");
    if (std::system(cmd.c_str()) == 0 && fs::exists(png)) pngs.push_back(png.string());
  }
  return pngs;
}

}  // namespace resact
