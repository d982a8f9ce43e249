// Running a built graph (graph/graph_builder.h) on a oneTBB flow graph; the
// body is in runner.cc.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph_builder.h"

namespace resact {

struct RunOptions {
  // Directory for everything the run writes; created if missing.
  std::string workdir = "runs/default";
  // Flow-graph worker threads; 0 = all cores.
  int num_threads = 0;
  // Seconds between progress updates on stderr (graph/progress.h: the stages
  // still working; on a terminal one line rewritten in place, elsewhere one
  // plain line per interval). <= 0 disables them and the final summary.
  // Default 5 s.
  double progress_interval_s = 5.0;
  // No progress updates and no final per-stage "done:" summary on stderr,
  // whatever progress_interval_s is. Default false.
  bool quiet = false;
};

struct RunSummary {
  double seconds = 0;
  // Rows handled per stage name.
  std::map<std::string, uint64_t> rows;
  // Per stage name: seconds from the start of the run until the stage was
  // done (a source's Generate() returned; another stage's Close() returned
  // and its flushed packets were processed downstream).
  std::map<std::string, double> done_seconds;
};

// Runs a built graph: opens every stage, runs sources with bounded in-flight
// packets, then closes stages in topological order so buffered state flows
// downstream. The first error stops the run; it is returned with its stage's
// name, and the graph is cancelled.
absl::StatusOr<RunSummary> RunGraph(BuiltGraph& graph, const RunOptions& options);

}  // namespace resact
