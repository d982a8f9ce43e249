#include "stages/experiment/report_figures.h"

#include <cstdlib>
#include <filesystem>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "graph/files.h"
#include "stages/evaluators/statistics.h"

namespace resact {
namespace {

namespace fs = std::filesystem;

// Twelve colours told apart on white; black and grey are left to the
// reference lines.
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                "#e377c2", "#17becf", "#bcbd22", "#000075", "#800000", "#469990"};
constexpr int kDashTypes = 5;

// Reference lines by ReferenceLine::Policy: black or grey, in dash patterns
// none of the rows use.
const char* const kReferenceStyle[] = {"lc rgb '#000000' dt (16,8)", "lc rgb '#808080' dt (3,5)",
                                       "lc rgb '#000000' dt (16,5,3,5)"};

}  // namespace

CurveStyle CurveStyleOf(int index) {
  const int n = static_cast<int>(std::size(kPalette));
  return {kPalette[index % n], 1 + index % kDashTypes};
}

std::string WriteCurveFigure(const std::string& run_dir, const std::string& task,
                             const ReportCells& cells, const std::vector<std::string>& labels,
                             const CurveFigure& figure) {
  const fs::path dir = fs::path(run_dir) / "figures";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    LOG(WARNING) << "figures skipped: cannot create " << dir.string() << ": " << ec.message();
    return "";
  }
  std::string bands, lines;
  for (size_t row = 0; row < labels.size(); ++row) {
    const std::string& label = labels[row];
    auto cell = cells.find(label);
    if (cell == cells.end()) continue;
    std::map<int64_t, std::vector<double>> at;
    for (const auto& [seed, series] : cell->second) {
      for (const auto& [step, m] : series) {
        auto it = m.find(figure.metric);
        if (it != m.end()) at[step].push_back(it->second);
      }
    }
    if (at.empty()) continue;
    const fs::path data = dir / absl::StrCat("curve_", task, figure.suffix, "_", label, ".dat");
    std::string rows = "# step mean low high (95% t-interval over seeds)\n";
    for (const auto& [step, v] : at) {
      double mean, half;
      MeanTInterval(v, &mean, &half);
      absl::StrAppend(&rows, step, " ", mean, " ", mean - half, " ", mean + half, "\n");
    }
    if (absl::Status w = WriteFileAtomically(data.string(), rows); !w.ok()) {
      LOG(WARNING) << "figures skipped: " << w;
      return "";
    }
    const CurveStyle style = CurveStyleOf(static_cast<int>(row));
    absl::StrAppendFormat(&bands,
                          "  '%s' using 1:3:4 with filledcurves fs transparent solid 0.15 noborder "
                          "lc rgb '%s' notitle, \\\n",
                          data.string(), style.color);
    absl::StrAppendFormat(&lines,
                          "%s  '%s' using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb '%s' dt %d "
                          "title '%s'",
                          lines.empty() ? "" : ", \\\n", data.string(), style.color, style.dash,
                          label);
  }
  if (lines.empty()) return "";
  // The shaded intervals first, so that every curve is drawn over all of them.
  std::string plot = bands + lines;
  for (const ReferenceLine& ref : figure.references) {
    absl::StrAppendFormat(&plot, ", \\\n  %.9g with lines lw 1.5 %s title '%s'", ref.value,
                          kReferenceStyle[ref.policy], ref.title);
  }
  const fs::path png = dir / absl::StrCat("curve_", task, figure.suffix, ".png");
  const fs::path script = dir / absl::StrCat("curve_", task, figure.suffix, ".gp");
  const std::string gp = absl::StrCat(
      "set terminal pngcairo noenhanced size 1000,640 font ',11'\n", "set output '",
      png.string(), "'\n", "set title 'Learning curves, task ", task,
      " (mean over seeds, shaded 95% CI; reference policies as horizontal lines)'\n",
      "set xlabel 'training step (gradient updates)'\n", "set ylabel '", figure.ylabel, "'\n",
      "set key outside right\nset grid\n", "plot \\\n", plot, "\n");
  if (absl::Status w = WriteFileAtomically(script.string(), gp); !w.ok()) {
    LOG(WARNING) << "figures skipped: " << w;
    return "";
  }
  const std::string cmd = absl::StrCat("gnuplot '", script.string(), "' 2>&1");
  if (std::system(cmd.c_str()) != 0 || !fs::exists(png)) return "";
  return png.string();
}

}  // namespace resact
