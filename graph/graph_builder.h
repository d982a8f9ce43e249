// Building a validated graph from a PipelineSpec (the bodies are in
// graph_builder.cc; running it is graph/runner.h).
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

}  // namespace resact
