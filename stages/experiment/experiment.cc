// Experiment: the paper's experiments as one stage. On the replay that
// arrives (after FitBehaviour) it runs a grid of (algorithm, task, seed)
// cells. Each cell is an ordinary pipeline — ReplaySource → LearnerStage →
// NcisEvaluator (and SimulatorEvaluator on simulator data) →
// EvaluationReport — written to DIR/CELL/cell.pbtxt and run as its own
// `resact run` process, so cells fan out across cores and a crash stays in
// its cell. A finished cell leaves DIR/CELL/DONE and is skipped when the
// experiment runs again, unless `rerun` is set. At the end it writes and
// prints the report (results.md, results.json, learning curves), which
// `resact report WORKDIR` regenerates.
//
// A name in `algorithms` that is not one of the eight algorithms is a
// variant: CONFIGS_DIR/NAME.pbtxt, a LearnerOptions block whose `algo` is one
// of the eight, merged after that algorithm's own block, so it states only
// its differences (e.g. configs/resact_no_residual.pbtxt). Its cells are
// NAME-TASK-seedK and its rows in the report are labelled NAME.
//
// Example:
//   stage {
//     name: "experiment" type: "Experiment" input_stream: "replay_fitted"
//     options { [type.googleapis.com/resact.ExperimentOptions] {
//       algorithms: "resact" algorithms: "il" seeds: 2 steps: 2000 eval_every: 500 } }
//   }
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "google/protobuf/text_format.h"
#include "graph/files.h"
#include "graph/pipeline.pb.h"
#include "graph/registry.h"
#include "stages/experiment/experiment_options.pb.h"
#include "stages/experiment/report.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/replay/replay_source_options.pb.h"

extern char** environ;

namespace resact {
namespace {

namespace fs = std::filesystem;

using learners::TaskName;

// One of the registered algorithms (stages/learners/algorithms/algorithm.h).
bool IsAlgorithm(const std::string& name) { return learners::AlgorithmRegistry().count(name) > 0; }

absl::StatusOr<LearnerOptions> ReadLearnerBlock(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream text;
  text << in.rdbuf();
  LearnerOptions block;
  if (!in || !google::protobuf::TextFormat::ParseFromString(text.str(), &block)) {
    return absl::InvalidArgumentError(
        absl::StrCat("configs_dir: ", p.string(), " is not a text-format LearnerOptions block"));
  }
  return block;
}

struct Cell {
  std::string name;  // An algorithm or a variant; names the cell and its rows.
  LearnerOptions::Task task;
  int seed;
  std::string dir;
  pid_t pid = 0;
};

}  // namespace

class Experiment : public StageWithOptions<ExperimentOptions> {
 public:
  StreamContract Contract() const override { return {{PayloadType::kReplay}, {}}; }
  absl::Status Open(const StageContext& ctx) override {
    ctx_ = &ctx;
    return absl::OkStatus();
  }
  absl::Status Process(int, const Packet& packet, Emitter&) override;

 protected:
  absl::Status Init() override;

 private:
  absl::StatusOr<PipelineSpec> CellSpec(const Cell& cell, const std::string& replay_dir) const;
  absl::StatusOr<pid_t> Spawn(const Cell& cell, int blas_threads) const;
  std::string Resolve(const std::string& p) const {
    fs::path path(p);
    return fs::absolute(path.is_relative() ? fs::path(ctx_->workdir()) / path : path)
        .lexically_normal()
        .string();
  }

  const StageContext* ctx_ = nullptr;
  std::vector<std::string> algorithms_;
  std::map<std::string, LearnerOptions> variants_;  // Variant name → its block (read once).
  std::vector<LearnerOptions::Task> tasks_;
};

absl::Status Experiment::Init() {
  for (const std::string& a : options_.algorithms()) algorithms_.push_back(a);
  // By default every algorithm, in the registry's display order.
  const std::vector<std::string> all = learners::AlgorithmNames();
  if (algorithms_.empty()) algorithms_ = all;
  const std::string known = absl::StrJoin(all, ", ");
  for (const std::string& a : algorithms_) {
    if (IsAlgorithm(a)) continue;
    // Not one of the eight: a variant, CONFIGS_DIR/NAME.pbtxt naming one of them.
    const fs::path file = fs::path(options_.configs_dir()) / (a + ".pbtxt");
    if (options_.configs_dir().empty() || !fs::is_regular_file(file)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "algorithms: '", a, "' is neither a known algorithm (", known, ") nor a variant: ",
          options_.configs_dir().empty() ? "configs_dir is empty" : absl::StrCat("no file ", file.string())));
    }
    ASSIGN_OR_RETURN(LearnerOptions block, ReadLearnerBlock(file));
    if (!IsAlgorithm(block.algo())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "algorithms: variant '", a, "': ", file.string(),
          block.algo().empty() ? " sets no algo" : absl::StrCat(" sets unknown algo '", block.algo(), "'"),
          "; algo must be one of the known algorithms: ", known));
    }
    variants_[a] = std::move(block);
  }
  for (int t : options_.tasks()) tasks_.push_back(static_cast<LearnerOptions::Task>(t));
  if (tasks_.empty()) tasks_.push_back(LearnerOptions::RETURN_TIME);
  if (options_.seeds() < 1) return absl::InvalidArgumentError("seeds: must be >= 1");
  if (options_.steps() < 1) return absl::InvalidArgumentError("steps: must be >= 1");
  if (options_.eval_every() < 1) return absl::InvalidArgumentError("eval_every: must be >= 1");
  if (options_.workers() < 0) return absl::InvalidArgumentError("workers: must be >= 0");
  return absl::OkStatus();
}

absl::StatusOr<PipelineSpec> Experiment::CellSpec(const Cell& cell,
                                                  const std::string& replay_dir) const {
  const auto variant = variants_.find(cell.name);
  const std::string algo = variant == variants_.end() ? cell.name : variant->second.algo();
  LearnerOptions learner = options_.learner();
  if (!options_.configs_dir().empty()) {
    // The algorithm's own blocks; a variant's block goes over them below.
    for (const std::string& name : {algo + ".pbtxt", "algo_" + algo + ".pbtxt"}) {
      const fs::path p = fs::path(options_.configs_dir()) / name;
      if (!fs::exists(p)) continue;
      ASSIGN_OR_RETURN(LearnerOptions block, ReadLearnerBlock(p));
      learner.MergeFrom(block);
    }
  }
  if (variant != variants_.end()) learner.MergeFrom(variant->second);
  learner.set_algo(algo);
  if (variant != variants_.end()) {
    learner.set_label(cell.name);
  } else {
    learner.clear_label();
  }
  learner.set_task(cell.task);
  learner.mutable_common()->set_seed(cell.seed);
  learner.set_steps(options_.steps());
  learner.set_eval_every(options_.eval_every());
  learner.set_run_dir(cell.dir);
  learner.clear_replay_dir();  // The replay arrives from the cell's ReplaySource.

  PipelineSpec spec;
  spec.set_name(fs::path(cell.dir).filename().string());
  auto add = [&](const std::string& name, const std::string& type,
                 std::vector<std::string> in, std::vector<std::string> out,
                 const google::protobuf::Message& opts) {
    StageSpec* s = spec.add_stage();
    s->set_name(name);
    s->set_type(type);
    for (auto& i : in) s->add_input_stream(i);
    for (auto& o : out) s->add_output_stream(o);
    s->mutable_options()->PackFrom(opts);
  };
  ReplaySourceOptions src;
  src.set_dir(replay_dir);
  add("replay", "ReplaySource", {}, {"replay"}, src);
  add("learner", "LearnerStage", {"replay"}, {"policies"}, learner);
  NcisEvaluatorOptions ncis = options_.ncis();
  ncis.set_replay_dir(replay_dir);
  // The serve probabilities of a simulator log need its world.
  if (options_.simulator() && !ncis.has_sim()) *ncis.mutable_sim() = options_.simulator_eval().sim();
  ncis.set_behaviour_path(Resolve(options_.behaviour_path()));
  add("ncis", "NcisEvaluator", {"policies"}, {"ncis_metrics"}, ncis);
  EvaluationReportOptions report;
  report.set_path((fs::path(cell.dir) / "evaluations.jsonl").string());
  report.set_summary_path((fs::path(cell.dir) / "summary.md").string());
  std::vector<std::string> metrics = {"ncis_metrics"};
  if (options_.simulator()) {
    SimulatorEvaluatorOptions sim = options_.simulator_eval();
    sim.set_replay_dir(replay_dir);
    // The oracles' rows are the same for every cell of a task: simulated once.
    if (sim.reference_cache().empty()) {
      sim.set_reference_cache((fs::path(Resolve(options_.dir())) / "simulator_reference").string());
    }
    add("simulator", "SimulatorEvaluator", {"policies"}, {"sim_metrics"}, sim);
    metrics.push_back("sim_metrics");
  }
  report.set_inputs(static_cast<int>(metrics.size()));
  add("report", "EvaluationReport", metrics, {}, report);
  return spec;
}

absl::StatusOr<pid_t> Experiment::Spawn(const Cell& cell, int blas_threads) const {
  const std::string spec = (fs::path(cell.dir) / "cell.pbtxt").string();
  const std::string log = (fs::path(cell.dir) / "log.txt").string();
  std::vector<std::string> args = {"resact", "run", spec, "--workdir", cell.dir,
                                   "--progress-interval", "60"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind("OPENBLAS_NUM_THREADS=", 0) != 0) env_store.emplace_back(*e);
  }
  env_store.push_back(absl::StrCat("OPENBLAS_NUM_THREADS=", blas_threads));
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, STDIN_FILENO);
  pid_t pid = 0;
  const std::string binary =
      options_.resact_binary().empty() ? std::string("/proc/self/exe") : options_.resact_binary();
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("cannot start the cell process for ", cell.dir, ": ",
                                            strerror(rc)));
  }
  return pid;
}

absl::Status Experiment::Process(int, const Packet& packet, Emitter&) {
  // Cells run with their own workdir: every path they get is absolute.
  const std::string replay_dir = fs::absolute(packet.Get<ReplayHandle>().dir).lexically_normal().string();
  const std::string root = Resolve(options_.dir());
  std::vector<Cell> todo;
  int skipped = 0;
  for (LearnerOptions::Task task : tasks_) {
    for (const std::string& name : algorithms_) {
      for (int seed = 0; seed < options_.seeds(); ++seed) {
        Cell c{name, task, seed, (fs::path(root) / absl::StrCat(name, "-", TaskName(task), "-seed", seed)).string()};
        if (!options_.rerun() && fs::exists(fs::path(c.dir) / "DONE")) {
          ++skipped;
          continue;
        }
        if (options_.rerun()) fs::remove_all(c.dir);
        fs::create_directories(c.dir);
        ASSIGN_OR_RETURN(PipelineSpec spec, CellSpec(c, replay_dir));
        // Options as readable text blocks ([type.googleapis.com/...] { ... }),
        // as in the shipped specs, not as serialized bytes.
        google::protobuf::TextFormat::Printer printer;
        printer.SetExpandAny(true);
        std::string text;
        printer.PrintToString(spec, &text);
        RETURN_IF_ERROR(WriteFileAtomically((fs::path(c.dir) / "cell.pbtxt").string(), text));
        todo.push_back(c);
      }
    }
  }
  const int total = static_cast<int>(todo.size()) + skipped;
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int workers = options_.workers() > 0 ? options_.workers() : cores;
  const int blas_threads = std::max(1, cores / std::min<int>(workers, std::max<size_t>(1, todo.size())));
  LOG(INFO) << "[" << ctx_->stage_name() << "] " << total << " cells (" << skipped
            << " already done) in " << root << ", " << workers << " at a time";
  ctx_->progress().SetTotal(total, "cells");
  ctx_->progress().SetDone(skipped);
  std::vector<Cell> running;
  std::vector<std::string> failed;
  size_t next = 0;
  int done = skipped;
  while (next < todo.size() || !running.empty()) {
    if (ctx_->cancelled()) {
      for (const Cell& c : running) kill(c.pid, SIGTERM);
      for (const Cell& c : running) waitpid(c.pid, nullptr, 0);
      return absl::CancelledError("experiment cancelled");
    }
    while (next < todo.size() && static_cast<int>(running.size()) < workers) {
      Cell c = todo[next++];
      ASSIGN_OR_RETURN(c.pid, Spawn(c, blas_threads));
      running.push_back(c);
    }
    for (size_t i = 0; i < running.size();) {
      int status = 0;
      const pid_t r = waitpid(running[i].pid, &status, WNOHANG);
      if (r == 0) {
        ++i;
        continue;
      }
      const Cell c = running[i];
      running.erase(running.begin() + i);
      ++done;
      ctx_->progress().SetDone(done);
      // A cell counts as done once its DONE marker is written; without it a
      // re-run trains the cell again.
      absl::Status marked = absl::OkStatus();
      const bool exited_ok = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (exited_ok) marked = WriteFileAtomically((fs::path(c.dir) / "DONE").string(), "ok\n");
      if (exited_ok && marked.ok()) {
        LOG(INFO) << "[" << ctx_->stage_name() << "] cell " << fs::path(c.dir).filename().string()
                  << " done (" << done << "/" << total << ")";
      } else if (exited_ok) {
        failed.push_back(c.dir);
        LOG(ERROR) << "[" << ctx_->stage_name() << "] cell " << c.dir
                   << " finished but its DONE marker could not be written: " << marked;
      } else {
        failed.push_back(c.dir);
        LOG(ERROR) << "[" << ctx_->stage_name() << "] cell " << c.dir << " failed; see "
                   << c.dir << "/log.txt";
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ctx_->progress().AddRows(total);
  if (!failed.empty()) {
    return absl::InternalError(absl::StrCat(failed.size(), " of ", total,
                                            " cells failed; their logs: ",
                                            absl::StrJoin(failed, "/log.txt, "), "/log.txt"));
  }
  LOG(INFO) << "[" << ctx_->stage_name() << "] all " << total << " cells done";
  if (options_.report()) {
    ASSIGN_OR_RETURN(ReportFiles files, WriteReport(ctx_->workdir(), /*figures=*/true));
    std::ifstream md(files.results_md);
    std::cout << "\n" << md.rdbuf() << "\nwrote " << files.results_md << " and "
              << files.results_json << "; regenerate with `resact report " << ctx_->workdir()
              << "`\n";
  }
  return absl::OkStatus();
}

RESACT_REGISTER_STAGE(Experiment);

}  // namespace resact
