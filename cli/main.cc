// resact: the command-line tool. Thin: parses arguments and calls cli/commands.
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli/bench.h"
#include "cli/commands.h"
#include "cli/model_commands.h"
#include "cli/recommend.h"
#include "glog/logging.h"

namespace {

// CLI11 takes an unknown word where a subcommand is expected for an extra
// positional, so `resact serve --help` would print the main help and exit 0.
// Walks the words naming subcommands (the top level, `replay` and `bench`
// take no option values, so every word there names a subcommand) and reports
// the first unknown one with the commands known at its level. Returns the
// exit code, or -1 when every subcommand word is known.
int CheckSubcommandWords(CLI::App& app, int argc, char** argv) {
  CLI::App* level = &app;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") break;
    if (!word.empty() && word[0] == '-') continue;  // --help and the like.
    std::vector<CLI::App*> subs =
        level->get_subcommands([](CLI::App* sub) { return !sub->get_name().empty(); });
    if (subs.empty()) break;  // A leaf command: its words are its own.
    CLI::App* found = nullptr;
    std::vector<std::string> names;
    for (CLI::App* sub : subs) {
      names.push_back(sub->get_name());
      if (sub->check_name(word)) found = sub;
    }
    if (found == nullptr) {
      std::string known;
      for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
      std::cerr << "error: unknown command '" << path << word << "'; " << path
                << "commands: " << known << "\n";
      return resact::kExitUsage;
    }
    path += word + " ";
    level = found;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  google::InstallFailureSignalHandler();
  FLAGS_logtostderr = true;
  FLAGS_colorlogtostderr = false;

  CLI::App app{"resact: reinforcement learning for long-term engagement, as a pipeline of stages"};
  app.require_subcommand(1);

  resact::RunArgs run;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a pipeline spec (text-format PipelineSpec)");
  run_cmd->add_option("spec", run.spec, "Pipeline spec, e.g. pipelines/quickstart.pbtxt")
      ->required();
  run_cmd->add_option("--set", run.sets,
                      "Override an option: STAGE.OPTION=VALUE (repeatable), e.g. "
                      "--set ingest.path=ratings.csv. String values take C escapes: "
                      "--set ingest.delimiter='\\t' is a tab; a literal backslash is \\\\");
  run_cmd->add_option("--workdir", run.workdir,
                      "Directory for everything the run writes (default: the spec's "
                      "workdir, or runs/<pipeline name>)");
  run_cmd->add_option("--threads", run.threads, "Flow-graph worker threads (default: all cores)");
  run_cmd->add_option("--fault", run.fault,
                      "Crash testing: kill the process (SIGKILL) at fault point NAME, or at its "
                      "N-th pass with NAME:N (graph/fault.h lists them); child processes inherit it");
  run_cmd->add_option("--progress-interval", run.progress_interval,
                      "Seconds between progress updates on stderr (the stages still "
                      "working; on a terminal one line updated in place); 0 disables them "
                      "and the final per-stage summary")
      ->capture_default_str();
  run_cmd->add_flag("--quiet,-q", run.quiet,
                    "No progress updates and no final per-stage summary on stderr (errors "
                    "and the closing 'pipeline ... finished' line still print)");

  std::vector<std::string> validate_specs, validate_sets;
  CLI::App* validate_cmd = app.add_subcommand("validate", "Check pipeline specs without running");
  validate_cmd->add_option("specs", validate_specs, "Spec files")->required();
  validate_cmd->add_option("--set", validate_sets,
                           "Overrides, as for run (string values take C escapes: '\\t' is a "
                           "tab, '\\\\' a backslash)");

  CLI::App* stages_cmd =
      app.add_subcommand("stages", "List the registered stage types and their options");

  CLI::App* replay_cmd = app.add_subcommand("replay", "Inspect a replay store");
  replay_cmd->require_subcommand(1);
  std::string stats_dir;
  CLI::App* stats_cmd = replay_cmd->add_subcommand(
      "stats", "Counts, reward histograms per task, session and return-time quantiles");
  stats_cmd->add_option("dir", stats_dir, "A run's workdir or a replay store")->required();
  std::string verify_dir;
  CLI::App* verify_cmd = replay_cmd->add_subcommand(
      "verify", "Check every block checksum of a replay store; name damaged files and key ranges");
  verify_cmd->add_option("dir", verify_dir, "A run's workdir or a replay store")->required();

  CLI::App* bench_cmd = app.add_subcommand("bench", "Benchmarks; each prints JSON lines");
  bench_cmd->require_subcommand(1);
  resact::BenchIngestArgs ingest;
  CLI::App* bench_ingest = bench_cmd->add_subcommand(
      "ingest", "Read, sessionize and reward a log (and with --replay, store it)");
  bench_ingest->add_option("--input", ingest.input, "Log file")->required();
  bench_ingest->add_option("--format", ingest.format, "csv (user,item,timestamp) or movielens")
      ->capture_default_str();
  bench_ingest->add_option("--gap", ingest.gap, "Session gap in seconds")->capture_default_str();
  bench_ingest->add_flag_function(
      "--no-header", [&ingest](int64_t) { ingest.has_header = false; },
      "csv: the file has no header line; its columns are user, item, timestamp");
  bench_ingest->add_option("--replay", ingest.replay_dir,
                           "Also build features and write a replay store in this directory "
                           "(a store already there is replaced)");
  bench_ingest->add_flag("--pandas", ingest.pandas,
                         "Also run bench/pandas_ingest.py on the same file and print the speedup");
  bench_ingest->add_option("--threads", ingest.threads, "Worker threads (default: all cores)");
  resact::BenchSimArgs sim;
  CLI::App* bench_sim = bench_cmd->add_subcommand(
      "sim", "Generate the simulated log of pipelines/recl_sim.pbtxt and ingest it into a replay");
  bench_sim->add_option("--scale", sim.scale, "simulate.sim.scale (1 = 99,899 users)")
      ->capture_default_str();
  bench_sim->add_option("--workdir", sim.workdir,
                        "Run here (its replay/ is replaced); default a temporary directory, "
                        "removed afterwards");
  bench_sim
      ->add_option("--dynamics", sim.dynamics,
                   "simulate.sim.dynamics, STATIC or LONG_TERM (the spec's)")
      ->check(CLI::IsMember({"STATIC", "LONG_TERM"}))
      ->capture_default_str();
  bench_sim->add_option("--threads", sim.threads, "Worker threads (default: all cores)");
  bench_sim->add_flag("--checksum", sim.checksum,
                      "Also print the replay's content checksum (computed after the timing)");
  resact::BenchDailyArgs daily;
  CLI::App* bench_daily = bench_cmd->add_subcommand(
      "daily",
      "Ingest the simulated log day by day into one daily store; time each day and the daily "
      "job (train, judge, promote) after the first and the last");
  bench_daily->add_option("--scale", daily.scale, "sim.scale (1 = 99,899 users)")
      ->capture_default_str();
  bench_daily
      ->add_option("--dynamics", daily.dynamics, "sim.dynamics, STATIC or LONG_TERM")
      ->check(CLI::IsMember({"STATIC", "LONG_TERM"}))
      ->capture_default_str();
  bench_daily->add_option("--days", daily.days, "Days to ingest, from the first")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  bench_daily->add_option("--workdir", daily.workdir,
                          "Keep the daily store in WORKDIR/replay (replaced); default a "
                          "temporary directory, removed afterwards");
  bench_daily->add_option("--threads", daily.threads, "Worker threads (default: all cores)");
  bench_daily
      ->add_option("--train-steps", daily.train_steps,
                   "Steps of the daily job's training after the first and the last day (the "
                   "first from scratch, the last warm from it); 0: ingestion only")
      ->check(CLI::Range(int64_t{0}, int64_t{100000000}))
      ->capture_default_str();
  bench_daily->add_option("--behaviour-steps", daily.behaviour_steps, "Steps of the π_β refit")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}))
      ->capture_default_str();
  bench_daily->add_option("--algo", daily.algo, "The daily job's learner")->capture_default_str();
  resact::BenchSimOraclesArgs oracles;
  CLI::App* bench_oracles = bench_cmd->add_subcommand(
      "sim-oracles", "The myopia gap: the greedy and the lookahead oracle in STATIC and LONG_TERM");
  bench_oracles->add_option("--scale", oracles.scale, "sim.scale")->capture_default_str();
  bench_oracles->add_option("--users", oracles.users, "Held-out users per policy")
      ->capture_default_str();
  bench_oracles->add_option("--candidates", oracles.candidates, "Lookahead candidates per request")
      ->capture_default_str();
  bench_oracles->add_option("--rollouts", oracles.rollouts, "Lookahead rollouts per candidate")
      ->capture_default_str();
  bench_oracles->add_option("--sessions", oracles.sessions,
                            "Lookahead sessions after the current one")
      ->capture_default_str();
  bench_oracles
      ->add_option("--history-days", oracles.history_days,
                   "Days of pi_b history before the evaluated days (-1: the world's days under "
                   "LONG_TERM, 0 under STATIC, as SimulatorEvaluator)")
      ->capture_default_str();
  bench_oracles->add_option("--threads", oracles.threads, "Worker threads (default: all cores)");
  std::string sample_dir;
  int sample_batch = 256, sample_iters = 2000;
  CLI::App* bench_sample = bench_cmd->add_subcommand(
      "sample", "Time sampling and assembling minibatches from a replay store");
  bench_sample->add_option("--replay", sample_dir, "A replay store, or a run's workdir")->required();
  bench_sample->add_option("--batch", sample_batch, "Rows per batch")->capture_default_str();
  bench_sample->add_option("--iters", sample_iters, "Batches")->capture_default_str();
  resact::GenLogArgs gen;
  CLI::App* bench_gen = bench_cmd->add_subcommand(
      "gen-log", "Write an unsorted user,item,timestamp CSV with session structure");
  bench_gen->add_option("--out", gen.out, "Output CSV")->required();
  bench_gen->add_option("--rows", gen.rows, "Rows")->capture_default_str();
  bench_gen->add_option("--users", gen.users, "Users")->capture_default_str();
  bench_gen->add_option("--seed", gen.seed, "Seed")->capture_default_str();

  resact::RecommendArgs rec;
  CLI::App* rec_cmd = app.add_subcommand(
      "recommend", "Top-k items for users' current states from a trained model (serving)");
  rec_cmd->add_option("--model", rec.model, "Model directory (a learner's RUN_DIR/model)")
      ->required();
  rec_cmd->add_option("--workdir", rec.workdir, "The run's workdir (or a replay store)")->required();
  rec_cmd->add_option("--user", rec.users, "User id (repeatable)");
  rec_cmd->add_option("--users-file", rec.users_file, "File of user ids, one per line");
  rec_cmd->add_option("--k", rec.k, "Items per user, 1 to 100000 (at most the catalogue)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  rec_cmd->add_option("--now", rec.now,
                      "Unix seconds of the request (default: each user's last request + 1 h)")
      ->check(CLI::Range(0.0, 1e11));
  rec_cmd->add_option("--batch", rec.batch, "Users per policy call, 1 to 1000000")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();

  std::string report_dir;
  bool report_no_figures = false;
  CLI::App* report_cmd = app.add_subcommand(
      "report", "Tables (results.md, results.json) and learning curves of an experiment run");
  report_cmd->add_option("run_dir", report_dir, "The experiment's workdir")->required();
  report_cmd->add_flag("--no-figures", report_no_figures, "Skip the gnuplot figures");

  CLI::App* model_cmd = app.add_subcommand(
      "model", "The model registry of a workdir: versions and the champion that serves");
  model_cmd->require_subcommand(1);
  std::string model_workdir, model_dir, model_checkpoint, model_note, model_version;
  CLI::App* model_list = model_cmd->add_subcommand("list", "Every version; the champion marked *");
  model_list->add_option("workdir", model_workdir, "The workdir holding models/")->required();
  CLI::App* model_add = model_cmd->add_subcommand(
      "add", "Add a saved policy folder (e.g. a run's model/) as the next version");
  model_add->add_option("workdir", model_workdir, "The workdir holding models/")->required();
  model_add->add_option("model_dir", model_dir, "A folder SavePolicy wrote (model.pbtxt)")
      ->required();
  model_add->add_option("--checkpoint", model_checkpoint,
                        "The trainer checkpoint to keep with it, for warm starts");
  model_add->add_option("--note", model_note, "Free text shown by `model list`");
  CLI::App* model_promote =
      model_cmd->add_subcommand("promote", "Make a version the champion (one atomic step)");
  model_promote->add_option("workdir", model_workdir, "The workdir holding models/")->required();
  model_promote->add_option("version", model_version, "e.g. v0003")->required();
  CLI::App* model_rollback = model_cmd->add_subcommand(
      "rollback", "Undo the last promotion: the previous champion serves again");
  model_rollback->add_option("workdir", model_workdir, "The workdir holding models/")->required();

  std::string history_workdir;
  CLI::App* history_cmd = app.add_subcommand(
      "history", "The daily retraining runs of a workdir: days, decisions, estimates");
  history_cmd->add_option("workdir", history_workdir, "The workdir of daily_retrain runs")
      ->required();

  resact::BenchTrainArgs train;
  CLI::App* bench_train = bench_cmd->add_subcommand(
      "train", "Steps/s of one learner on a synthetic in-memory dataset (and with --python, "
               "of a plain PyTorch TD3+BC)");
  bench_train->add_option("--algo", train.options.algo, "Learner algorithm")
      ->capture_default_str();
  bench_train->add_option("--state-dim", train.options.state_dim, "State width")
      ->capture_default_str();
  bench_train->add_option("--action-dim", train.options.action_dim, "Action width")
      ->capture_default_str();
  bench_train->add_option("--batch", train.options.batch, "Minibatch size")
      ->capture_default_str();
  bench_train->add_option("--steps", train.options.steps, "Timed gradient steps")
      ->capture_default_str();
  bench_train->add_option("--threads", train.options.threads,
                          "LibTorch intra-op threads (0 = LibTorch default)")
      ->capture_default_str();
  bench_train->add_flag("--python", train.python,
                        "Also run bench/td3_bc_pytorch.py on the same dims and print the ratio");
  bench_train->add_option("--rounds", train.rounds,
                          "With --python: rounds of resact then PyTorch, alternating; the "
                          "ratio printed is the median of the rounds' ratios")
      ->capture_default_str();
  bench_train->add_option("--profile", train.options.profile_path,
                          "Write a Chrome trace (JSON) of the timed steps' LibTorch ops to this "
                          "file; profiling slows the steps, so the figures are not comparable");

  if (const int rc = CheckSubcommandWords(app, argc, argv); rc >= 0) return rc;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : resact::kExitUsage;
  }
  if (*run_cmd) return resact::RunCommand(run);
  if (*validate_cmd) return resact::ValidateCommand(validate_specs, validate_sets);
  if (*stages_cmd) return resact::StagesCommand();
  if (*stats_cmd) return resact::ReplayStatsCommand(stats_dir);
  if (*model_list) return resact::ModelListCommand(model_workdir);
  if (*model_add) {
    return resact::ModelAddCommand(model_workdir, model_dir, model_checkpoint, model_note);
  }
  if (*model_promote) return resact::ModelPromoteCommand(model_workdir, model_version);
  if (*model_rollback) return resact::ModelRollbackCommand(model_workdir);
  if (*history_cmd) return resact::HistoryCommand(history_workdir);
  if (*verify_cmd) return resact::ReplayVerifyCommand(verify_dir);
  if (*rec_cmd) return resact::RecommendCommand(rec);
  if (*report_cmd) return resact::ReportCommand(report_dir, !report_no_figures);
  if (*bench_ingest) return resact::BenchIngestCommand(ingest);
  if (*bench_sim) return resact::BenchSimCommand(sim);
  if (*bench_oracles) return resact::BenchSimOraclesCommand(oracles);
  if (*bench_daily) return resact::BenchDailyCommand(daily);
  if (*bench_gen) return resact::GenLogCommand(gen);
  if (*bench_sample) return resact::BenchSampleCommand(sample_dir, sample_batch, sample_iters);
  if (*bench_train) return resact::BenchTrainCommand(train);
  return resact::kExitUsage;
}
