// Building a validated graph from a PipelineSpec, and running it on a oneTBB
// flow graph.
//
// Validation checks, before anything runs: every stage type is registered,
// its options parse and validate, its stream counts match its contract, every
// stream has exactly one producer and at least one consumer, payload kinds
// match, concurrency is allowed, and there is no cycle. Every error names the
// stage and the field.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/pipeline.pb.h"
#include "graph/registry.h"
#include "graph/stage.h"

namespace resact {

struct BuiltStage {
  StageSpec spec;
  const StageRegistration* reg = nullptr;
  std::unique_ptr<google::protobuf::Message> options;
  std::unique_ptr<Stage> stage;
  StreamContract contract;
  int concurrency = 1;  // 0 = unlimited.
};

struct StreamInfo {
  std::string name;
  PayloadType type = PayloadType::kRequests;
  int producer = -1;         // Stage index.
  int producer_output = -1;  // Output index within the producer.
  std::vector<std::pair<int, int>> consumers;  // (stage index, input index).
};

struct BuiltGraph {
  PipelineSpec spec;
  std::vector<BuiltStage> stages;
  std::map<std::string, StreamInfo> streams;
  // Stage indices in topological order; ties keep spec order.
  std::vector<int> topo_order;
  // For stage i, output j: the stream name.
  const StreamInfo& output_stream(int stage, int output) const {
    return streams.at(stages[stage].spec.output_stream(output));
  }
};

// Validates the spec and instantiates its stages. Errors are InvalidArgument
// (or NotFound for an unknown stage type) and name stage and field.
absl::StatusOr<std::unique_ptr<BuiltGraph>> BuildGraph(const PipelineSpec& spec);

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
