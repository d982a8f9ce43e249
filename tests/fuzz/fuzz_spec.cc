// Fuzz target: the spec parser and validator. The input is spec text and,
// after a line "#--set", override lines ("STAGE.FIELD=VALUE"): ParseSpec
// (graph/spec.h), ApplyOverride for each line, then BuildGraph
// (graph/graph_builder.h). Errors are fine; crashes, aborts and hangs are not.
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "graph/graph_builder.h"
#include "graph/spec.h"
#include "tests/fuzz/fuzz_targets.h"

namespace resact {
namespace fuzz {

int FuzzSpec(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string text = input;
  std::vector<std::string> overrides;
  size_t marker = std::string::npos;
  if (input.rfind("#--set\n", 0) == 0) {
    marker = 0;
  } else {
    marker = input.find("\n#--set\n");
    if (marker != std::string::npos) marker += 1;
  }
  if (marker != std::string::npos) {
    text = input.substr(0, marker);
    for (absl::string_view line :
         absl::StrSplit(absl::string_view(input).substr(marker + 7), '\n')) {
      if (!line.empty()) overrides.emplace_back(line);
    }
  }
  absl::StatusOr<PipelineSpec> spec = ParseSpec(text, "fuzz.pbtxt");
  if (!spec.ok()) return 0;
  for (const std::string& o : overrides) {
    (void)ApplyOverride(*spec, o);  // An error is fine; go on with the next.
  }
  absl::StatusOr<std::unique_ptr<BuiltGraph>> graph = BuildGraph(*spec);
  (void)graph;
  return 0;
}

}  // namespace fuzz
}  // namespace resact

RESACT_FUZZ_MAIN(FuzzSpec)
