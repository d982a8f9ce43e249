// Test helpers for running a pipeline spec in process: build the graph and run
// it in a workdir (usually a testing_util::ScopedTempDir) without the
// progress display, then read the replay the run wrote.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph_builder.h"
#include "graph/runner.h"
#include "graph/spec.h"
#include "graph/status.h"
#include "storage/replay_reader.h"

namespace resact {
namespace testing_util {

inline absl::StatusOr<RunSummary> BuildAndRun(const PipelineSpec& spec,
                                              const std::string& workdir) {
  ASSIGN_OR_RETURN(std::unique_ptr<BuiltGraph> graph, BuildGraph(spec));
  RunOptions opts;
  opts.workdir = workdir;
  opts.progress_interval_s = 0;
  return RunGraph(*graph, opts);
}

// Runs the shipped spec pipelines/NAME with `overrides` (as `--set` takes
// them) in `workdir`.
inline absl::StatusOr<RunSummary> RunShippedSpec(const std::string& name,
                                                 const std::vector<std::string>& overrides,
                                                 const std::string& workdir) {
  ASSIGN_OR_RETURN(PipelineSpec spec,
                   LoadSpec(std::string(RESACT_SOURCE_DIR) + "/pipelines/" + name));
  for (const std::string& o : overrides) RETURN_IF_ERROR(ApplyOverride(spec, o));
  return BuildAndRun(spec, workdir);
}

// Every split of the replay a run wrote in `workdir` (WORKDIR/replay).
inline absl::StatusOr<std::unique_ptr<ReplayReader>> LoadRunReplay(const std::string& workdir) {
  ReplayReaderOptions ro;
  ro.split = ReplaySplit::kAll;
  return ReplayReader::Load(workdir + "/replay", ro);
}

}  // namespace testing_util
}  // namespace resact
