// Test helper for running a pipeline spec in process: build the graph and run
// it in a workdir (usually a testing_util::ScopedTempDir) without the
// progress display.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "graph/graph_builder.h"
#include "graph/runner.h"
#include "graph/spec.h"
#include "graph/status.h"

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

}  // namespace testing_util
}  // namespace resact
