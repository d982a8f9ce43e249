#include "stages/experiment/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "graph/files.h"
#include "graph/status.h"
#include "stages/evaluators/statistics.h"
#include "stages/experiment/report_calibration.h"
#include "stages/experiment/report_figures.h"
#include "nlohmann/json.hpp"

namespace resact {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Row order: the eight algorithms in this order, then any other label (an
// Experiment's variants, e.g. "resact_no_residual") alphabetically — the
// report reads only the evaluations, not the experiment's `algorithms`.
const char* const kAlgoOrder[] = {"resact", "ddpg", "td3", "td3_bc", "bcq", "iql", "il", "il_cvae"};
const char* const kTaskOrder[] = {"return_time", "session_length", "both"};

using Series = ReportSeries;
// task → algorithm → seed → series.
using Runs = std::map<std::string, ReportCells>;

int Rank(const char* const* order, size_t n, const std::string& s) {
  for (size_t i = 0; i < n; ++i) {
    if (s == order[i]) return static_cast<int>(i);
  }
  return static_cast<int>(n);
}

std::vector<std::string> Sorted(std::vector<std::string> v, const char* const* order, size_t n) {
  std::stable_sort(v.begin(), v.end(), [&](const std::string& a, const std::string& b) {
    const int ra = Rank(order, n, a), rb = Rank(order, n, b);
    return ra != rb ? ra < rb : a < b;
  });
  return v;
}

struct Stat {
  double mean = NAN, half = NAN;
  int n = 0;
  std::vector<double> values;
};

Stat Across(const std::vector<double>& v) {
  Stat s;
  s.values = v;
  s.n = static_cast<int>(v.size());
  if (!v.empty()) MeanTInterval(v, &s.mean, &s.half);
  return s;
}

std::string Cell(const Stat& s) {
  if (s.n == 0 || std::isnan(s.mean)) return "–";
  return s.n > 1 ? absl::StrFormat("%.4f ± %.4f", s.mean, s.half) : absl::StrFormat("%.4f", s.mean);
}

// Last value of `metric` in each seed's series (the early-stopping-free value).
Stat Last(const std::map<int64_t, Series>& seeds, const std::string& metric) {
  std::vector<double> v;
  for (const auto& [seed, series] : seeds) {
    for (auto it = series.rbegin(); it != series.rend(); ++it) {
      auto m = it->second.find(metric);
      if (m != it->second.end()) {
        v.push_back(m->second);
        break;
      }
    }
  }
  return Across(v);
}

// Best value over steps of `metric` in each seed's series.
Stat Best(const std::map<int64_t, Series>& seeds, const std::string& metric) {
  std::vector<double> v;
  for (const auto& [seed, series] : seeds) {
    double best = -INFINITY;
    for (const auto& [step, m] : series) {
      auto it = m.find(metric);
      if (it != m.end()) best = std::max(best, it->second);
    }
    if (std::isfinite(best)) v.push_back(best);
  }
  return Across(v);
}

Json StatJson(const Stat& s) {
  Json j;
  j["mean"] = std::isnan(s.mean) ? Json() : Json(s.mean);
  j["ci95"] = std::isnan(s.half) ? Json() : Json(s.half);
  j["seeds"] = s.n;
  j["per_seed"] = s.values;
  return j;
}

absl::StatusOr<Runs> ReadRuns(const std::string& run_dir, int* files) {
  Runs runs;
  *files = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(run_dir, ec); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->path().filename() != "evaluations.jsonl") continue;
    ++*files;
    std::ifstream in(it->path());
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty()) continue;
      Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.contains("metrics") || !j.contains("algo")) {
        return absl::InvalidArgumentError(absl::StrCat(it->path().string(), ":", lineno,
                                                       ": not an evaluation record"));
      }
      Series& s = runs[j.value("task", "")][j.value("algo", "")][j.value("seed", int64_t{0})];
      auto& m = s[j.value("step", int64_t{0})];
      for (auto& [k, v] : j["metrics"].items()) {
        if (v.is_number()) m[k] = v.get<double>();
      }
    }
  }
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", run_dir, ": ", ec.message()));
  return runs;
}

// The reference policies of the simulator tables and figures.
struct ReferencePolicy {
  const char* row;     // The table's row label.
  const char* key;     // Its key under results.json's tasks.TASK.
  const char* prefix;  // The SimulatorEvaluator's metric prefix.
  ReferenceLine::Policy policy;
  const char* title;  // Its title in the figures' key.
};
const ReferencePolicy kReferences[] = {
    {"logging policy π_β", "logging_policy", "sim_behaviour_", ReferenceLine::kLoggingPolicy, "π_β"},
    {"greedy oracle", "greedy_oracle", "sim_greedy_oracle_", ReferenceLine::kGreedyOracle,
     "greedy oracle"},
    {"lookahead oracle", "lookahead_oracle", "sim_lookahead_oracle_",
     ReferenceLine::kLookaheadOracle, "lookahead oracle"}};

// A reference policy's value of `metric` in one task (NaN when no cell has
// it). Every cell evaluates π_β and the oracles, on its own held-out users;
// π_β's value is the mean over the labels (in row order) of their mean over
// seeds, an oracle's the mean over all cells that report it.
double ReferenceValue(const ReportCells& cells, const std::vector<std::string>& labels,
                      const std::string& metric, ReferenceLine::Policy policy) {
  std::vector<double> v;
  for (const std::string& label : labels) {
    auto it = cells.find(label);
    if (it == cells.end()) continue;
    const Stat s = Last(it->second, metric);
    if (policy != ReferenceLine::kLoggingPolicy) {
      v.insert(v.end(), s.values.begin(), s.values.end());
    } else if (s.n) {
      v.push_back(s.mean);
    }
  }
  return Across(v).mean;
}

// 100·(b − a)/a as "%+.2f%%", or "–" when a is 0.
std::string PercentChange(double a, double b) {
  return a == 0 ? "–" : absl::StrFormat("%+.2f%%", 100 * (b - a) / a);
}

// The myopia gap of one task, lookahead minus greedy oracle, as a line of
// results.md, and into `json`.
std::string MyopiaGap(double greedy_reward, double lookahead_reward, double greedy_hours,
                      double lookahead_hours, Json* json) {
  (*json)["reward"] = lookahead_reward - greedy_reward;
  (*json)["return_hours"] = lookahead_hours - greedy_hours;
  if (greedy_reward != 0) (*json)["reward_pct"] = 100 * (lookahead_reward - greedy_reward) / greedy_reward;
  if (greedy_hours != 0) (*json)["return_hours_pct"] = 100 * (lookahead_hours - greedy_hours) / greedy_hours;
  return absl::StrFormat(
      "\nMyopia gap (lookahead − greedy oracle): reward/request %+.4f (%s); mean return hours "
      "%+.2f h (%s%s).\n",
      lookahead_reward - greedy_reward, PercentChange(greedy_reward, lookahead_reward),
      lookahead_hours - greedy_hours, PercentChange(greedy_hours, lookahead_hours),
      lookahead_hours < greedy_hours ? ", shorter" : lookahead_hours > greedy_hours ? ", longer" : "");
}

// A table of one row per label and, per task, one cell per column: the
// column's header after the task's name and its statistic of the cell's seeds.
struct TableColumn {
  const char* header;  // After the task, e.g. " WIS" or " (best)".
  std::function<Stat(const std::map<int64_t, Series>&)> stat;
};
using SeedsOf = std::function<const std::map<int64_t, Series>&(const std::string& task,
                                                                const std::string& label)>;
void AppendTable(const std::vector<std::string>& labels, const std::vector<std::string>& tasks,
                 const std::vector<TableColumn>& columns, const SeedsOf& seeds_of,
                 std::string* md) {
  absl::StrAppend(md, "| algorithm |");
  for (const auto& t : tasks) {
    for (const TableColumn& c : columns) absl::StrAppend(md, " ", t, c.header, " |");
  }
  absl::StrAppend(md, "\n|---|");
  for (size_t i = 0; i < tasks.size() * columns.size(); ++i) absl::StrAppend(md, "---|");
  absl::StrAppend(md, "\n");
  for (const auto& label : labels) {
    absl::StrAppend(md, "| ", label, " |");
    for (const auto& task : tasks) {
      for (const TableColumn& c : columns) {
        absl::StrAppend(md, " ", Cell(c.stat(seeds_of(task, label))), " |");
      }
    }
    absl::StrAppend(md, "\n");
  }
}

TableColumn LastOf(const char* header, const char* metric) {
  return {header, [metric](const std::map<int64_t, Series>& seeds) { return Last(seeds, metric); }};
}

}  // namespace

absl::StatusOr<ReportFiles> WriteReport(const std::string& run_dir, bool figures) {
  int files = 0;
  ASSIGN_OR_RETURN(Runs runs, ReadRuns(run_dir, &files));
  if (files == 0 || runs.empty()) {
    return absl::NotFoundError(absl::StrCat("no evaluations.jsonl under ", run_dir,
                                            "; run an experiment there first"));
  }
  std::vector<std::string> tasks;
  std::set<std::string> algo_set;
  for (const auto& [task, algos] : runs) {
    tasks.push_back(task);
    for (const auto& [a, s] : algos) algo_set.insert(a);
  }
  tasks = Sorted(tasks, kTaskOrder, std::size(kTaskOrder));
  const std::vector<std::string> algos =
      Sorted(std::vector<std::string>(algo_set.begin(), algo_set.end()), kAlgoOrder, std::size(kAlgoOrder));
  static const std::map<int64_t, Series> kNone;
  auto seeds_of = [&](const std::string& task, const std::string& algo) -> const std::map<int64_t, Series>& {
    auto t = runs.find(task);
    if (t == runs.end()) return kNone;
    auto a = t->second.find(algo);
    return a == t->second.end() ? kNone : a->second;
  };

  // NCIS per request, the paper's estimator (after the per-session table
  // when the cells report one).
  std::string ncis_md;
  absl::StrAppend(&ncis_md, "NCIS estimate of the task reward per request at the last training step, "
                       "mean ± 95% CI over seeds (t-interval; n seeds per cell as listed in "
                       "results.json).\n\n| algorithm |");
  for (const auto& t : tasks) absl::StrAppend(&ncis_md, " ", t, " |");
  absl::StrAppend(&ncis_md, "\n|---|");
  for (size_t i = 0; i < tasks.size(); ++i) absl::StrAppend(&ncis_md, "---|");
  absl::StrAppend(&ncis_md, "\n");
  Json json;
  for (const auto& algo : algos) {
    absl::StrAppend(&ncis_md, "| ", algo, " |");
    for (const auto& task : tasks) {
      const auto& seeds = seeds_of(task, algo);
      absl::StrAppend(&ncis_md, " ", Cell(Last(seeds, "ncis")), " |");
      Json& j = json["tasks"][task][algo];
      j["ncis_last"] = StatJson(Last(seeds, "ncis"));
      j["ncis_best"] = StatJson(Best(seeds, "ncis"));
      for (const char* m : {"ncis_true", "sim_reward", "sim_r_rt", "sim_r_sl", "sim_return_hours",
                            "sim_session_length", "ncis_ess", "ncis_capped_fraction",
                            "ncis_per_session", "ncis_true_per_session", "wis", "wis_per_session",
                            "wis_true", "wis_true_per_session", "wis_ess", "wis_capped_fraction",
                            "sim_reward_per_session", "fqe", "fqe_per_session", "dr",
                            "dr_per_session", "dr_true", "dr_true_per_session", "fqe_seconds",
                            "ncis_seconds", "ncis_serve", "ncis_serve_per_session", "wis_serve",
                            "wis_serve_per_session", "dr_serve", "dr_serve_per_session",
                            "serve_seconds"}) {
        const Stat s = Last(seeds, m);
        if (s.n > 0) j[std::string(m) + "_last"] = StatJson(s);
      }
    }
    absl::StrAppend(&ncis_md, "\n");
  }
  // The logging policy's own value, once per task; and the horizontal lines
  // of each task's figures.
  std::map<std::string, std::vector<ReferenceLine>> ncis_lines, sim_lines;
  absl::StrAppend(&ncis_md, "| logging policy (logged reward) |");
  for (const auto& task : tasks) {
    const double logged =
        ReferenceValue(runs.at(task), algos, "logged_reward", ReferenceLine::kLoggingPolicy);
    absl::StrAppend(&ncis_md, " ", std::isnan(logged) ? "–" : absl::StrFormat("%.4f", logged), " |");
    if (std::isnan(logged)) continue;
    json["tasks"][task]["logging_policy"]["logged_reward"] = logged;
    ncis_lines[task].push_back({ReferenceLine::kLoggingPolicy, "π_β (logged)", logged});
  }
  std::string md = "# Results\n\n";
  // The paper's scale: task reward per session (NCIS and session WIS), when
  // the cells report it.
  bool per_session = false, model = false;
  for (const auto& task : tasks) {
    for (const auto& algo : algos) {
      per_session |= Last(seeds_of(task, algo), "wis_per_session").n > 0;
      model |= Last(seeds_of(task, algo), "fqe_per_session").n > 0;
    }
  }
  if (per_session) {
    absl::StrAppend(&md, "Per session, the scale of the paper's Tables 2 and 3: task reward per "
                         "session at the last training step, mean ± 95% CI over seeds. NCIS per "
                         "session is each test trajectory's NCIS value times its requests per "
                         "session; WIS is session-level weighted IS (each session's reward "
                         "weighted by the capped product of its requests' ratios)",
                    model ? "; FQE is the fitted critic's value and DR the doubly robust estimate, "
                            "each per request times requests per session"
                          : "",
                    ".\n\n");
    std::vector<TableColumn> columns = {LastOf(" NCIS", "ncis_per_session"),
                                        LastOf(" WIS", "wis_per_session")};
    if (model) {
      columns.push_back(LastOf(" FQE", "fqe_per_session"));
      columns.push_back(LastOf(" DR", "dr_per_session"));
    }
    AppendTable(algos, tasks, columns, seeds_of, &md);
    absl::StrAppend(&md, "| logging policy (logged reward) |");
    for (const auto& task : tasks) {
      const double logged = ReferenceValue(runs.at(task), algos, "logged_reward_per_session",
                                           ReferenceLine::kLoggingPolicy);
      const std::string cell = std::isnan(logged) ? "–" : absl::StrFormat("%.4f", logged);
      for (size_t c = 0; c < columns.size(); ++c) absl::StrAppend(&md, " ", cell, " |");
      if (!std::isnan(logged)) {
        json["tasks"][task]["logging_policy"]["logged_reward_per_session"] = logged;
      }
    }
    absl::StrAppend(&md, "\n\n", ncis_md);
    absl::StrAppend(&md, "\n\nPer request, the other estimators: WIS per request is Σ w·R / Σ w·L over "
                         "each trajectory's sessions (L the session's length)",
                    model ? "; FQE per request is the mean of Q(s, π(s)) over the test states "
                            "divided by their mean discounted horizon"
                          : "",
                    ".\n\n");
    std::vector<TableColumn> per_request = {LastOf(" WIS", "wis")};
    if (model) {
      per_request.push_back(LastOf(" FQE", "fqe"));
      per_request.push_back(LastOf(" DR", "dr"));
    }
    AppendTable(algos, tasks, per_request, seeds_of, &md);
  } else {
    absl::StrAppend(&md, ncis_md);
  }
  absl::StrAppend(&md, "\n\nBest value over training steps (labelled best; not used in the table "
                       "above):\n\n");
  AppendTable(algos, tasks,
              {{" (best)", [](const std::map<int64_t, Series>& seeds) { return Best(seeds, "ncis"); }}},
              seeds_of, &md);
  // Simulator ground truth beside NCIS, per task.
  bool any_sim = false;
  for (const auto& task : tasks) {
    bool has = false;
    for (const auto& algo : algos) has |= Last(seeds_of(task, algo), "sim_reward").n > 0;
    if (!has) continue;
    any_sim = true;
    absl::StrAppend(&md, "\n## Task ", task, ": NCIS against the simulator's true value\n\n"
                         "| algorithm | NCIS (fitted π_β) | NCIS (true π_β) | true reward/request | NCIS − true | "
                         "true return h | true session length |\n|---|---|---|---|---|---|---|\n");
    for (const auto& algo : algos) {
      const auto& seeds = seeds_of(task, algo);
      const Stat ncis = Last(seeds, "ncis"), truth = Last(seeds, "sim_reward");
      absl::StrAppend(&md, "| ", algo, " | ", Cell(ncis), " | ", Cell(Last(seeds, "ncis_true")), " | ",
                      Cell(truth), " | ",
                      ncis.n && truth.n ? absl::StrFormat("%+.4f", ncis.mean - truth.mean) : "–", " | ",
                      Cell(Last(seeds, "sim_return_hours")), " | ", Cell(Last(seeds, "sim_session_length")),
                      " |\n");
    }
    // π_β's row, then the oracles' when the cells report them
    // (SimulatorEvaluator { oracles: true }).
    std::map<ReferenceLine::Policy, std::pair<double, double>> reward_hours;
    for (const ReferencePolicy& ref : kReferences) {
      auto value = [&](const char* metric) {
        return ReferenceValue(runs.at(task), algos, absl::StrCat(ref.prefix, metric), ref.policy);
      };
      const double reward = value("reward"), hours = value("return_hours");
      if (ref.policy != ReferenceLine::kLoggingPolicy && std::isnan(reward)) continue;
      const double length = value("session_length");
      absl::StrAppendFormat(&md, "| %s | – | – | %.4f | – | %.2f | %.2f |\n", ref.row, reward, hours,
                            length);
      Json& j = json["tasks"][task][ref.key];
      j["sim_reward"] = reward;
      j["sim_return_hours"] = hours;
      j["sim_session_length"] = length;
      reward_hours[ref.policy] = {reward, hours};
      if (!std::isnan(reward)) sim_lines[task].push_back({ref.policy, ref.title, reward});
    }
    // Both scales against the truth, when the cells report the per-session
    // estimates and the simulator's per-session truth.
    bool scaled = false;
    for (const auto& algo : algos) {
      const auto& seeds = seeds_of(task, algo);
      scaled |= Last(seeds, "wis_per_session").n > 0 && Last(seeds, "sim_reward_per_session").n > 0;
    }
    if (scaled) {
      absl::StrAppend(&md, "\nPer session and per request, the estimators against the truth:\n\n"
                           "| algorithm | NCIS/session | WIS/session | true reward/session | "
                           "WIS/request | true reward/request |\n|---|---|---|---|---|---|\n");
      for (const auto& algo : algos) {
        const auto& seeds = seeds_of(task, algo);
        absl::StrAppend(&md, "| ", algo, " | ", Cell(Last(seeds, "ncis_per_session")), " | ",
                        Cell(Last(seeds, "wis_per_session")), " | ",
                        Cell(Last(seeds, "sim_reward_per_session")), " | ",
                        Cell(Last(seeds, "wis")), " | ", Cell(Last(seeds, "sim_reward")), " |\n");
      }
      for (const ReferencePolicy& ref : kReferences) {
        const double per_session = ReferenceValue(
            runs.at(task), algos, absl::StrCat(ref.prefix, "reward_per_session"), ref.policy);
        const double per_request =
            ReferenceValue(runs.at(task), algos, absl::StrCat(ref.prefix, "reward"), ref.policy);
        if (std::isnan(per_session)) continue;
        absl::StrAppendFormat(&md, "| %s | – | – | %.4f | – | %.4f |\n", ref.row, per_session,
                              per_request);
        json["tasks"][task][ref.key]["sim_reward_per_session"] = per_session;
      }
    }
    auto greedy = reward_hours.find(ReferenceLine::kGreedyOracle);
    auto lookahead = reward_hours.find(ReferenceLine::kLookaheadOracle);
    if (greedy != reward_hours.end() && lookahead != reward_hours.end()) {
      absl::StrAppend(&md, MyopiaGap(greedy->second.first, lookahead->second.first,
                                     greedy->second.second, lookahead->second.second,
                                     &json["tasks"][task]["myopia_gap"]));
    }
  }
  // The estimators against the truth over every cell (simulator runs).
  const std::vector<CalibrationRow> calibration = Calibrate(runs);
  absl::StrAppend(&md, CalibrationTable(calibration));
  for (const CalibrationRow& r : calibration) {
    Json row;
    row["estimator"] = r.estimator;
    row["scale"] = r.scale;
    row["cells"] = r.cells;
    row["spearman"] = std::isnan(r.spearman) ? Json() : Json(r.spearman);
    row["mae"] = r.mae;
    row["coverage"] = std::isnan(r.coverage) ? Json() : Json(r.coverage);
    row["verdict_agreement"] = std::isnan(r.verdict) ? Json() : Json(r.verdict);
    json["calibration"].push_back(row);
  }
  ReportFiles out;
  if (figures) {
    absl::StrAppend(&md, "\n## Learning curves\n\n");
    for (const auto& task : tasks) {
      const std::string png =
          WriteCurveFigure(run_dir, task, runs.at(task), algos,
                           {"ncis", "NCIS estimate, reward per request", "", ncis_lines[task]});
      if (!png.empty()) {
        out.figures.push_back(png);
        absl::StrAppend(&md, "![", task, "](", fs::relative(png, run_dir).string(), ")\n");
      }
      if (any_sim) {
        const std::string sim = WriteCurveFigure(
            run_dir, task, runs.at(task), algos,
            {"sim_reward", "true reward per request (simulator)", "_sim", sim_lines[task]});
        if (!sim.empty()) {
          out.figures.push_back(sim);
          absl::StrAppend(&md, "![", task, " (simulator)](", fs::relative(sim, run_dir).string(), ")\n");
        }
      }
    }
    const std::vector<std::string> pngs = WriteCalibrationFigures(run_dir, calibration);
    if (!pngs.empty()) absl::StrAppend(&md, "\n## Estimates against the truth\n\n");
    for (const std::string& png : pngs) {
      out.figures.push_back(png);
      absl::StrAppend(&md, "![calibration](", fs::relative(png, run_dir).string(), ")\n");
    }
  }
  json["figures"] = out.figures;
  out.results_md = (fs::path(run_dir) / "results.md").string();
  out.results_json = (fs::path(run_dir) / "results.json").string();
  RETURN_IF_ERROR(WriteFileAtomically(out.results_md, md));
  RETURN_IF_ERROR(WriteFileAtomically(out.results_json, json.dump(2) + "\n"));
  return out;
}

}  // namespace resact
