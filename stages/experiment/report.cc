#include "stages/experiment/report.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "graph/files.h"
#include "stages/evaluators/statistics.h"
#include "graph/status.h"
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

// step → metric → value, for one (task, algorithm, seed).
using Series = std::map<int64_t, std::map<std::string, double>>;
// task → algorithm → seed → series.
using Runs = std::map<std::string, std::map<std::string, std::map<int64_t, Series>>>;

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

std::string WriteFigure(const std::string& run_dir, const std::string& task,
                        const std::map<std::string, std::map<int64_t, Series>>& algos,
                        const std::string& metric, const std::string& ylabel,
                        const std::string& suffix) {
  const fs::path dir = fs::path(run_dir) / "figures";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    LOG(WARNING) << "figures skipped: cannot create " << dir.string() << ": " << ec.message();
    return "";
  }
  std::vector<std::string> names;
  for (const auto& [a, s] : algos) names.push_back(a);
  names = Sorted(names, kAlgoOrder, std::size(kAlgoOrder));
  std::string plot;
  int k = 0;
  bool any = false;
  for (const std::string& algo : names) {
    std::map<int64_t, std::vector<double>> at;
    for (const auto& [seed, series] : algos.at(algo)) {
      for (const auto& [step, m] : series) {
        auto it = m.find(metric);
        if (it != m.end()) at[step].push_back(it->second);
      }
    }
    if (at.empty()) continue;
    any = true;
    const fs::path data = dir / absl::StrCat("curve_", task, suffix, "_", algo, ".dat");
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
    ++k;
    absl::StrAppendFormat(&plot,
                          "%s'%s' using 1:3:4 with filledcurves fs transparent solid 0.2 noborder lc %d notitle, "
                          "'%s' using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc %d title '%s'",
                          k > 1 ? ", " : "", data.string(), k, data.string(), k, algo);
  }
  if (!any) return "";
  const fs::path png = dir / absl::StrCat("curve_", task, suffix, ".png");
  const fs::path script = dir / absl::StrCat("curve_", task, suffix, ".gp");
  const std::string gp = absl::StrCat(
      "set terminal pngcairo noenhanced size 1000,640 font ',11'\n", "set output '",
      png.string(), "'\n", "set title 'Learning curves, task ", task,
      " (mean over seeds, shaded 95% CI)'\n", "set xlabel 'training step (gradient updates)'\n",
      "set ylabel '", ylabel, "'\n", "set key outside right\nset grid\n", "plot ", plot, "\n");
  if (absl::Status w = WriteFileAtomically(script.string(), gp); !w.ok()) {
    LOG(WARNING) << "figures skipped: " << w;
    return "";
  }
  const std::string cmd = absl::StrCat("gnuplot '", script.string(), "' 2>&1");
  if (std::system(cmd.c_str()) != 0 || !fs::exists(png)) return "";
  return png.string();
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

  std::string md = "# Results\n\n";
  absl::StrAppend(&md, "NCIS estimate of the task reward per request at the last training step, "
                       "mean ± 95% CI over seeds (t-interval; n seeds per cell as listed in "
                       "results.json).\n\n| algorithm |");
  for (const auto& t : tasks) absl::StrAppend(&md, " ", t, " |");
  absl::StrAppend(&md, "\n|---|");
  for (size_t i = 0; i < tasks.size(); ++i) absl::StrAppend(&md, "---|");
  absl::StrAppend(&md, "\n");
  Json json;
  for (const auto& algo : algos) {
    absl::StrAppend(&md, "| ", algo, " |");
    for (const auto& task : tasks) {
      const auto& seeds = seeds_of(task, algo);
      absl::StrAppend(&md, " ", Cell(Last(seeds, "ncis")), " |");
      Json& j = json["tasks"][task][algo];
      j["ncis_last"] = StatJson(Last(seeds, "ncis"));
      j["ncis_best"] = StatJson(Best(seeds, "ncis"));
      for (const char* m : {"ncis_true", "sim_reward", "sim_r_rt", "sim_r_sl", "sim_return_hours",
                            "sim_session_length", "ncis_ess", "ncis_capped_fraction"}) {
        const Stat s = Last(seeds, m);
        if (s.n > 0) j[std::string(m) + "_last"] = StatJson(s);
      }
    }
    absl::StrAppend(&md, "\n");
  }
  // The logging policy's own value, once per task.
  absl::StrAppend(&md, "| logging policy (logged reward) |");
  for (const auto& task : tasks) {
    std::vector<double> v;
    for (const auto& algo : algos) {
      const Stat s = Last(seeds_of(task, algo), "logged_reward");
      if (s.n > 0) v.push_back(s.mean);
    }
    const Stat s = Across(v);
    absl::StrAppend(&md, " ", s.n ? absl::StrFormat("%.4f", s.mean) : "–", " |");
    if (s.n) json["tasks"][task]["logging_policy"]["logged_reward"] = s.mean;
  }
  absl::StrAppend(&md, "\n\nBest value over training steps (labelled best; not used in the table "
                       "above):\n\n| algorithm |");
  for (const auto& t : tasks) absl::StrAppend(&md, " ", t, " (best) |");
  absl::StrAppend(&md, "\n|---|");
  for (size_t i = 0; i < tasks.size(); ++i) absl::StrAppend(&md, "---|");
  absl::StrAppend(&md, "\n");
  for (const auto& algo : algos) {
    absl::StrAppend(&md, "| ", algo, " |");
    for (const auto& task : tasks) absl::StrAppend(&md, " ", Cell(Best(seeds_of(task, algo), "ncis")), " |");
    absl::StrAppend(&md, "\n");
  }
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
    std::vector<double> beh_reward, beh_ret, beh_len;
    for (const auto& algo : algos) {
      const auto& seeds = seeds_of(task, algo);
      const Stat ncis = Last(seeds, "ncis"), truth = Last(seeds, "sim_reward");
      absl::StrAppend(&md, "| ", algo, " | ", Cell(ncis), " | ", Cell(Last(seeds, "ncis_true")), " | ",
                      Cell(truth), " | ",
                      ncis.n && truth.n ? absl::StrFormat("%+.4f", ncis.mean - truth.mean) : "–", " | ",
                      Cell(Last(seeds, "sim_return_hours")), " | ", Cell(Last(seeds, "sim_session_length")),
                      " |\n");
      for (auto [name, vec] : {std::pair{"sim_behaviour_reward", &beh_reward},
                               std::pair{"sim_behaviour_return_hours", &beh_ret},
                               std::pair{"sim_behaviour_session_length", &beh_len}}) {
        const Stat s = Last(seeds, name);
        if (s.n) vec->push_back(s.mean);
      }
    }
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return v.empty() ? NAN : s / v.size();
    };
    absl::StrAppendFormat(&md, "| logging policy π_β | – | – | %.4f | – | %.2f | %.2f |\n",
                          mean(beh_reward), mean(beh_ret), mean(beh_len));
    json["tasks"][task]["logging_policy"]["sim_reward"] = mean(beh_reward);
    json["tasks"][task]["logging_policy"]["sim_return_hours"] = mean(beh_ret);
    json["tasks"][task]["logging_policy"]["sim_session_length"] = mean(beh_len);
  }
  ReportFiles out;
  if (figures) {
    absl::StrAppend(&md, "\n## Learning curves\n\n");
    for (const auto& task : tasks) {
      const std::string png = WriteFigure(run_dir, task, runs.at(task), "ncis",
                                          "NCIS estimate, reward per request", "");
      if (!png.empty()) {
        out.figures.push_back(png);
        absl::StrAppend(&md, "![", task, "](", fs::relative(png, run_dir).string(), ")\n");
      }
      if (any_sim) {
        const std::string sim = WriteFigure(run_dir, task, runs.at(task), "sim_reward",
                                            "true reward per request (simulator)", "_sim");
        if (!sim.empty()) {
          out.figures.push_back(sim);
          absl::StrAppend(&md, "![", task, " (simulator)](", fs::relative(sim, run_dir).string(), ")\n");
        }
      }
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
