// Loading pipeline specs, applying `--set stage.option=value` overrides, and
// unpacking a stage's typed options.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "graph/pipeline.pb.h"
#include "graph/registry.h"

namespace resact {

// Parses a text-format PipelineSpec. Errors name the file, line and column.
// Text with a NUL byte or invalid UTF-8 (e.g. a binary file) is an
// InvalidArgument naming the offset of the first such byte; a path that is a
// directory or unreadable is InvalidArgument, a missing one NotFound.
absl::StatusOr<PipelineSpec> LoadSpec(const std::string& path);
absl::StatusOr<PipelineSpec> ParseSpec(const std::string& text,
                                       const std::string& origin = "<spec>");

// Applies "STAGE.FIELD=VALUE" to the spec. FIELD is an options field of the
// stage (dotted for nested messages) or a StageSpec field (concurrency,
// max_in_flight). A repeated field is replaced by the comma-separated VALUE.
// String (and bytes) values are C-unescaped: "\t" is a tab, "\\" one
// backslash; a bad escape is an InvalidArgument naming the option. Errors
// are returned, never logged.
absl::Status ApplyOverride(PipelineSpec& spec, const std::string& assignment);

// The stage's options: its `options` Any unpacked into the registered options
// message, or the defaults when absent. Errors name the stage and field.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> UnpackOptions(
    const StageSpec& stage, const StageRegistration& reg);

// "name (type, default 1800)" lines for every field of an options message.
std::string DescribeOptions(const google::protobuf::Descriptor* descriptor,
                            const std::string& indent);

// "stage 'name' (Type): " for error messages.
std::string StagePrefix(const StageSpec& stage);

}  // namespace resact
