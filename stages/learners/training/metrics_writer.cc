#include "stages/learners/training/metrics_writer.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/files.h"
#include "graph/json_text.h"

namespace resact {
namespace learners {

namespace fs = std::filesystem;

MetricsWriter::MetricsWriter(const std::string& run_dir, std::string algo, std::string label)
    : path_(run_dir.empty() ? "" : (fs::path(run_dir) / "metrics.jsonl").string()),
      algo_(std::move(algo)),
      label_(std::move(label)) {}

void MetricsWriter::Add(const Metrics& metrics) {
  for (const auto& [name, value] : metrics) {
    size_t k = 0;
    while (k < names_.size() && names_[k] != name) ++k;
    if (k == names_.size()) {
      names_.push_back(name);
      sums_.push_back({0.0, 0});
    }
    sums_[k].first += value;
    ++sums_[k].second;
  }
}

void MetricsWriter::Restart(const TrainTiming& timing) {
  names_.clear();
  sums_.clear();
  start_ = timing;
}

absl::Status MetricsWriter::Flush(int64_t step, const TrainTiming& timing) {
  const TrainTiming& w = start_;
  const int64_t n = timing.steps - w.steps;
  if (n == 0) return absl::OkStatus();
  std::string line =
      absl::StrFormat("{\"algo\":\"%s\",\"step\":%d,\"steps\":%d", label_, step, n);
  for (size_t k = 0; k < names_.size(); ++k) {
    const auto& [sum, count] = sums_[k];
    if (count > 0) absl::StrAppendFormat(&line, ",\"%s\":%s", names_[k], JsonNumber(sum / count));
  }
  const double ms = 1000.0 / n;
  absl::StrAppendFormat(&line,
                        ",\"ms_sample\":%.4f,\"ms_update\":%.4f,\"ms_optimizer\":%.4f,"
                        "\"ms_step\":%.4f}\n",
                        (timing.sample_s - w.sample_s) * ms, (timing.update_s - w.update_s) * ms,
                        (timing.optimizer_s - w.optimizer_s) * ms,
                        (timing.sample_s - w.sample_s + timing.update_s - w.update_s) * ms);
  Restart(timing);
  if (path_.empty()) return absl::OkStatus();
  std::ofstream out(path_, std::ios::app);
  out << line;
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat(algo_, ": cannot append to ", path_));
  return absl::OkStatus();
}

absl::Status MetricsWriter::Trim(int64_t step, bool resumed) {
  if (path_.empty()) return absl::OkStatus();
  std::string kept;
  if (resumed && fs::exists(path_)) {
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      const size_t at = line.find("\"step\":");
      if (at == std::string::npos) continue;
      if (std::atoll(line.c_str() + at + 7) <= step) absl::StrAppend(&kept, line, "\n");
    }
  }
  absl::Status s = WriteFileAtomically(path_, kept);
  return s.ok() ? s : Annotate(s, absl::StrCat(algo_, ": metrics: "));
}

}  // namespace learners
}  // namespace resact
