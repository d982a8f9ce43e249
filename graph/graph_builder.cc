#include <queue>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/graph_builder.h"
#include "graph/option_ranges.h"
#include "graph/spec.h"

namespace resact {
namespace {

std::string KindList(const std::vector<PayloadType>& kinds) {
  std::vector<std::string> names;
  for (PayloadType k : kinds) names.emplace_back(PayloadTypeName(k));
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

absl::Status Invalid(const StageSpec& s, const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrCat(StagePrefix(s), msg));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BuiltGraph>> BuildGraph(const PipelineSpec& spec) {
  RETURN_IF_ERROR(StageRegistry::Global().status());
  auto graph = std::make_unique<BuiltGraph>();
  graph->spec = spec;
  if (spec.stage_size() == 0) {
    return absl::InvalidArgumentError("spec has no stages");
  }
  {
    PipelineSpec top = spec;  // The pipeline's own fields; stages are checked below.
    top.clear_stage();
    RETURN_IF_ERROR(Annotate(CheckOptionRanges(top), "spec: "));
  }
  std::set<std::string> names;
  for (int i = 0; i < spec.stage_size(); ++i) {
    const StageSpec& s = spec.stage(i);
    if (s.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stage #", i + 1, " (", s.type(), "): field 'name' is required"));
    }
    if (!names.insert(s.name()).second) {
      return Invalid(s, "field 'name': another stage has the same name");
    }
    if (s.type().empty()) return Invalid(s, "field 'type' is required");
    auto reg = StageRegistry::Global().Find(s.type());
    if (!reg.ok()) {
      return absl::Status(reg.status().code(),
                          absl::StrCat(StagePrefix(s), "field 'type': ", reg.status().message()));
    }
    RETURN_IF_ERROR(Annotate(CheckOptionRanges(s), StagePrefix(s)));
    BuiltStage b;
    b.spec = s;
    b.reg = *reg;
    ASSIGN_OR_RETURN(b.options, UnpackOptions(s, *b.reg));
    RETURN_IF_ERROR(
        Annotate(CheckOptionRanges(*b.options), absl::StrCat(StagePrefix(s), "options: ")));
    b.stage = b.reg->factory();
    absl::Status configured = b.stage->Configure(*b.options);
    if (!configured.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(StagePrefix(s), "options: ", configured.message()));
    }
    b.contract = b.stage->Contract();
    if (s.input_stream_size() != static_cast<int>(b.contract.inputs.size())) {
      return Invalid(s, absl::StrCat("field 'input_stream': expects ", b.contract.inputs.size(),
                                     " stream(s) (", KindList(b.contract.inputs), "), got ",
                                     s.input_stream_size()));
    }
    const int max_out = static_cast<int>(b.contract.outputs.size());
    const int min_out = max_out - b.contract.optional_outputs;
    if (s.output_stream_size() > max_out || s.output_stream_size() < min_out) {
      return Invalid(s, absl::StrCat("field 'output_stream': expects ",
                                     min_out == max_out ? absl::StrCat(max_out)
                                                        : absl::StrCat(min_out, " to ", max_out),
                                     " stream(s) (",
                                     KindList(b.contract.outputs), "), got ",
                                     s.output_stream_size()));
    }
    if (b.contract.max_concurrency != 0 &&
        (s.concurrency() == 0 || s.concurrency() > b.contract.max_concurrency)) {
      return Invalid(s, absl::StrCat("field 'concurrency': this stage type supports at most ",
                                     b.contract.max_concurrency, ", got ",
                                     s.concurrency() == 0 ? "unlimited (0)"
                                                          : absl::StrCat(s.concurrency())));
    }
    b.concurrency = s.concurrency();
    graph->stages.push_back(std::move(b));
  }

  // Producers.
  for (int i = 0; i < static_cast<int>(graph->stages.size()); ++i) {
    const BuiltStage& b = graph->stages[i];
    for (int j = 0; j < b.spec.output_stream_size(); ++j) {
      const std::string& name = b.spec.output_stream(j);
      auto [it, inserted] = graph->streams.try_emplace(name);
      if (!inserted) {
        return Invalid(b.spec, absl::StrCat("field 'output_stream': stream '", name,
                                            "' is already produced by stage '",
                                            graph->stages[it->second.producer].spec.name(), "'"));
      }
      it->second.name = name;
      it->second.type = b.contract.outputs[j];
      it->second.producer = i;
      it->second.producer_output = j;
    }
  }
  // Consumers and kinds.
  for (int i = 0; i < static_cast<int>(graph->stages.size()); ++i) {
    const BuiltStage& b = graph->stages[i];
    for (int j = 0; j < b.spec.input_stream_size(); ++j) {
      const std::string& name = b.spec.input_stream(j);
      auto it = graph->streams.find(name);
      if (it == graph->streams.end()) {
        return Invalid(b.spec, absl::StrCat("field 'input_stream': stream '", name,
                                            "' is not produced by any stage"));
      }
      if (it->second.type != b.contract.inputs[j]) {
        return Invalid(b.spec, absl::StrCat(
            "field 'input_stream': stream '", name, "' carries ", PayloadTypeName(it->second.type),
            " (from stage '", graph->stages[it->second.producer].spec.name(), "') but input ", j,
            " expects ", PayloadTypeName(b.contract.inputs[j])));
      }
      it->second.consumers.emplace_back(i, j);
    }
  }
  for (const auto& [name, info] : graph->streams) {
    if (info.consumers.empty()) {
      return Invalid(graph->stages[info.producer].spec,
                     absl::StrCat("field 'output_stream': stream '", name,
                                  "' is not consumed by any stage"));
    }
  }
  // Topological order (Kahn), ties broken by spec order.
  const int n = graph->stages.size();
  std::vector<int> indegree(n, 0);
  std::vector<std::set<int>> succ(n);
  for (const auto& [name, info] : graph->streams) {
    for (auto [c, input] : info.consumers) {
      if (succ[info.producer].insert(c).second) ++indegree[c];
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i) {
    if (indegree[i] == 0) ready.push(i);
  }
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    graph->topo_order.push_back(i);
    for (int c : succ[i]) {
      if (--indegree[c] == 0) ready.push(c);
    }
  }
  if (static_cast<int>(graph->topo_order.size()) != n) {
    std::vector<std::string> cyclic;
    for (int i = 0; i < n; ++i) {
      if (indegree[i] > 0) cyclic.push_back(graph->stages[i].spec.name());
    }
    return absl::InvalidArgumentError(
        absl::StrCat("the streams form a cycle through stages: ", absl::StrJoin(cyclic, ", ")));
  }
  return graph;
}

}  // namespace resact
