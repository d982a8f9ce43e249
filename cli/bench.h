// `resact bench ...`: commands that measure and print figures as JSON lines.
#pragma once

#include <cstdint>
#include <string>

#include "cli/bench_train.h"

namespace resact {

struct BenchIngestArgs {
  std::string input;
  std::string format = "csv";  // csv (user,item,timestamp header) or movielens
  // csv only: false (--no-header) for a file without the header line, whose
  // columns are user, item, timestamp in this order.
  bool has_header = true;
  double gap = 1800;
  std::string replay_dir;  // When set: full ingestion into a replay store here (replaced).
  bool pandas = false;     // Also run bench/pandas_ingest.py on the same file.
  int threads = 0;
};
int BenchIngestCommand(const BenchIngestArgs& args);

struct BenchSimArgs {
  double scale = 1;       // simulate.sim.scale of pipelines/recl_sim.pbtxt.
  std::string dynamics = "LONG_TERM";  // simulate.sim.dynamics (the spec's default).
  std::string workdir;    // Empty: a temporary directory, removed afterwards.
  int threads = 0;        // Flow-graph worker threads; 0 = all cores.
  bool checksum = false;  // Also print the replay's content checksum (untimed).
};
// Runs pipelines/recl_sim.pbtxt (simulated log -> sessions -> rewards ->
// features -> replay) and prints users, requests, sessions, seconds, rows/s,
// peak RSS and the time split (simulation, then the rest) as a JSON line.
int BenchSimCommand(const BenchSimArgs& args);

struct BenchDailyArgs {
  double scale = 1;                    // sim.scale (1 = 99,899 users, ~28M requests).
  std::string dynamics = "LONG_TERM";  // sim.dynamics.
  int days = 14;                       // Days ingested, from the first.
  std::string workdir;                 // Empty: a temporary directory, removed afterwards.
  int threads = 0;                     // Worker threads; 0 = all cores.
  // The retraining of the daily job (stages/retrain/daily_retrain.h): the
  // first day's model from scratch and the last day's challenger warm from
  // it, each `train_steps` steps of `algo`, judged by WIS per session with
  // π_β refit on the window (behaviour_steps). 0: ingestion only.
  int64_t train_steps = 10000;
  int64_t behaviour_steps = 1000;
  std::string algo = "resact";
};
// Incremental daily ingestion at scale (stages/replay/daily_ingest.h): the
// simulated log split by day, each day ingested into one daily store in
// turn; one JSON line per day (rows, users, seconds, the store's size) and a
// summary with day 2's and the last day's times. With train_steps, the
// daily job after the first and the last day (DailyRetrain: train, refit
// π_β, judge, promote) as one JSON line each, with the whole last day's job
// (its ingest plus its retraining).
int BenchDailyCommand(const BenchDailyArgs& args);

struct BenchSimOraclesArgs {
  double scale = 0.01;  // sim.scale of the worlds (their user count only).
  int users = 200;      // Held-out users simulated per policy.
  int candidates = 16, rollouts = 8, sessions = 2;  // The lookahead oracle's.
  // Days of π_β history before the evaluated days; −1: SimulatorEvaluator's
  // default (the world's days under LONG_TERM, none under STATIC).
  double history_days = -1;
  int threads = 0;      // Worker threads; 0 = all cores.
};
// The myopia gap (cli/bench_sim_oracles.cc): π_β, the greedy and the
// lookahead oracle in STATIC and LONG_TERM, as one JSON line.
int BenchSimOraclesCommand(const BenchSimOraclesArgs& args);

struct GenLogArgs {
  std::string out;
  int64_t rows = 25000000;
  int64_t users = 100000;
  uint64_t seed = 1;
};
// Writes an unsorted `user,item,timestamp` CSV with session structure.
int GenLogCommand(const GenLogArgs& args);

// Times Sample() + assembly of `batch`-row minibatches from a replay store.
int BenchSampleCommand(const std::string& dir, int batch, int iters);

struct BenchTrainArgs {
  // --algo, --state-dim, --action-dim, --batch, --steps, --threads, --profile.
  BenchTrainOptions options;
  bool python = false;  // Also run bench/td3_bc_pytorch.py and print the ratio.
  int rounds = 3;       // With python: alternating rounds of each; median ratio.
};
// Trains one learner on a synthetic in-memory dataset; prints steps/s and
// the time split (sample, forward/backward, optimizer) as a JSON line.
int BenchTrainCommand(const BenchTrainArgs& args);

}  // namespace resact
