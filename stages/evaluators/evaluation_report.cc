// EvaluationReport: the sink of evaluator metrics. It appends every
// evaluation to a JSON-lines file in the run's workdir and, at the end,
// writes and prints a table of the final evaluations: one row per
// (algorithm, task), averaged over seeds, with the NCIS estimate and, on
// simulator data, the true online values beside the logging policy's and,
// when the SimulatorEvaluator runs them, the greedy and lookahead oracles'.
//
// Example:
//   stage {
//     name: "report" type: "EvaluationReport"
//     input_stream: "ncis_metrics" input_stream: "sim_metrics"
//     options { [type.googleapis.com/resact.EvaluationReportOptions] { inputs: 2 } }
//   }
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/files.h"
#include "graph/json_text.h"
#include "graph/registry.h"
#include "stages/evaluators/evaluator_options.pb.h"

namespace resact {

class EvaluationReport : public StageWithOptions<EvaluationReportOptions> {
 public:
  StreamContract Contract() const override {
    return {std::vector<PayloadType>(options_.inputs(), PayloadType::kMetrics), {}, 1};
  }
  absl::Status Open(const StageContext& ctx) override {
    ctx_ = &ctx;
    path_ = Resolve(options_.path());
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    out_.open(path_, std::ios::app);
    if (!out_) {
      return absl::FailedPreconditionError(
          absl::StrCat("path: cannot write ", path_, ec ? ": " + ec.message() : ""));
    }
    return absl::OkStatus();
  }
  absl::Status Process(int, const Packet& packet, Emitter&) override {
    const MetricsBatch& m = packet.Get<MetricsBatch>();
    std::string line = absl::StrFormat(
        "{\"evaluator\":\"%s\",\"algo\":\"%s\",\"task\":\"%s\",\"seed\":%d,\"step\":%d,"
        "\"final\":%s,\"metrics\":{",
        JsonEscape(m.evaluator), JsonEscape(m.algo), JsonEscape(m.task), m.seed, m.step,
        m.final ? "true" : "false");
    for (size_t i = 0; i < m.name.size(); ++i) {
      absl::StrAppendFormat(&line, "%s\"%s\":%s", i ? "," : "", JsonEscape(m.name[i]),
                            JsonNumber(m.value[i]));
    }
    line += "}}\n";
    out_ << line;
    out_.flush();
    if (!out_) return absl::DataLossError(absl::StrCat("cannot append to ", path_));
    if (m.final) {
      auto& row = final_[{m.algo, m.task}];
      for (size_t i = 0; i < m.name.size(); ++i) row[m.name[i]].push_back(m.value[i]);
    }
    ctx_->progress().AddRows(1);
    return absl::OkStatus();
  }
  absl::Status Close(Emitter&) override {
    out_.close();
    if (final_.empty()) return absl::OkStatus();
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return v.empty() ? NAN : s / v.size();
    };
    auto get = [&](const std::map<std::string, std::vector<double>>& row, const std::string& k) {
      auto it = row.find(k);
      return it == row.end() ? NAN : mean(it->second);
    };
    auto cell = [&](const std::map<std::string, std::vector<double>>& row, const std::string& k) {
      const double v = get(row, k);
      if (std::isnan(v)) return std::string("–");
      const double lo = get(row, k + "_ci_low"), hi = get(row, k + "_ci_high");
      return std::isnan(lo) ? absl::StrFormat("%.4f", v)
                            : absl::StrFormat("%.4f [%.4f, %.4f]", v, lo, hi);
    };
    std::string table =
        "| algorithm | task | NCIS (fitted π_β) [95% CI] | NCIS (true π_β) | simulator reward/request "
        "[95% CI] | simulator return h | simulator session length |\n"
        "|---|---|---|---|---|---|---|\n";
    std::map<std::string, const std::map<std::string, std::vector<double>>*> behaviour;
    // task → the oracles' metrics of all its final evaluations.
    std::map<std::string, std::map<std::string, std::vector<double>>> oracles;
    for (const auto& [key, row] : final_) {
      for (const auto& [name, values] : row) {
        if (absl::StartsWith(name, "sim_greedy_oracle_") || absl::StartsWith(name, "sim_lookahead_oracle_")) {
          auto& all = oracles[key.second][name];
          all.insert(all.end(), values.begin(), values.end());
        }
      }
      absl::StrAppend(&table, "| ", key.first, " | ", key.second, " | ", cell(row, "ncis"), " | ",
                      cell(row, "ncis_true"), " | ", cell(row, "sim_reward"), " | ",
                      cell(row, "sim_return_hours"), " | ", cell(row, "sim_session_length"), " |\n");
      behaviour[key.second] = &row;
    }
    for (const auto& [task, row] : behaviour) {
      absl::StrAppend(&table, "| logging policy π_β | ", task, " | ", cell(*row, "logged_reward"),
                      " (logged) | – | ", cell(*row, "sim_behaviour_reward"), " | ",
                      cell(*row, "sim_behaviour_return_hours"), " | ",
                      cell(*row, "sim_behaviour_session_length"), " |\n");
      for (const auto& [label, prefix] : {std::pair{"greedy oracle", "sim_greedy_oracle_"},
                                          std::pair{"lookahead oracle", "sim_lookahead_oracle_"}}) {
        const auto& o = oracles[task];
        if (!o.count(absl::StrCat(prefix, "reward"))) continue;
        absl::StrAppend(&table, "| ", label, " | ", task, " | – | – | ",
                        cell(o, absl::StrCat(prefix, "reward")), " | ",
                        cell(o, absl::StrCat(prefix, "return_hours")), " | ",
                        cell(o, absl::StrCat(prefix, "session_length")), " |\n");
      }
    }
    const std::string summary = Resolve(options_.summary_path());
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(summary).parent_path(), ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("summary_path: cannot create the folder of ", summary, ": ", ec.message()));
    }
    if (absl::Status s = WriteFileAtomically(summary, table); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("summary_path: ", s.message()));
    }
    std::cout << "\n" << table << "\n(all evaluations: " << path_ << ")\n";
    return absl::OkStatus();
  }

 protected:
  absl::Status Init() override {
    if (options_.inputs() < 1 || options_.inputs() > 16) {
      return absl::InvalidArgumentError("inputs: must be in 1..16");
    }
    return absl::OkStatus();
  }

 private:
  std::string Resolve(const std::string& p) const {
    std::filesystem::path path(p);
    return (path.is_relative() ? std::filesystem::path(ctx_->workdir()) / path : path).string();
  }
  const StageContext* ctx_ = nullptr;
  std::string path_;
  std::ofstream out_;
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::vector<double>>> final_;
};
RESACT_REGISTER_STAGE(EvaluationReport);

}  // namespace resact
