#include "cli/commands.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "graph/runner.h"
#include "graph/spec.h"
#include "stages/experiment/report.h"
#include "storage/replay_stats.h"
#include "storage/replay_store.h"

namespace resact {
namespace {

int ExitCodeFor(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsNotFound(s) ? kExitUsage : kExitRuntime;
}

absl::StatusOr<PipelineSpec> LoadWithOverrides(const std::string& path,
                                               const std::vector<std::string>& sets) {
  ASSIGN_OR_RETURN(PipelineSpec spec, LoadSpec(path));
  for (const std::string& s : sets) RETURN_IF_ERROR(ApplyOverride(spec, s));
  return spec;
}

}  // namespace

int RunCommand(const RunArgs& args) {
  // Before anything reads it; child processes (experiment cells) inherit it.
  if (!args.fault.empty()) setenv("RESACT_FAULT", args.fault.c_str(), 1);
  auto spec = LoadWithOverrides(args.spec, args.sets);
  if (!spec.ok()) {
    std::cerr << "error: " << spec.status().message() << "\n";
    return ExitCodeFor(spec.status());
  }
  auto graph = BuildGraph(*spec);
  if (!graph.ok()) {
    std::cerr << "error: " << args.spec << ": " << graph.status().message() << "\n";
    return kExitUsage;
  }
  RunOptions opts;
  opts.workdir = !args.workdir.empty()      ? args.workdir
                 : spec->has_workdir()      ? spec->workdir()
                                            : "runs/" + (spec->name().empty() ? "default" : spec->name());
  opts.num_threads = args.threads > 0 ? args.threads : spec->num_threads();
  opts.progress_interval_s = args.progress_interval;
  opts.quiet = args.quiet;
  LOG(INFO) << "running " << args.spec << " (" << spec->stage_size() << " stages) in workdir "
            << opts.workdir;
  auto summary = RunGraph(**graph, opts);
  if (!summary.ok()) {
    std::cerr << "error: " << summary.status().message() << "\n";
    return kExitRuntime;
  }
  std::cout << absl::StrFormat("pipeline %s finished in %.1f s; workdir %s\n", spec->name(),
                               summary->seconds, opts.workdir);
  return kExitOk;
}

int ValidateCommand(const std::vector<std::string>& specs, const std::vector<std::string>& sets) {
  int rc = kExitOk;
  for (const std::string& path : specs) {
    auto spec = LoadWithOverrides(path, sets);
    absl::Status s = spec.status();
    if (s.ok()) s = BuildGraph(*spec).status();
    if (s.ok()) {
      std::cout << path << ": ok (" << spec->stage_size() << " stages)\n";
    } else {
      // Parse errors already begin with the path ("x.pbtxt:3:7: ...").
      const bool named = absl::StartsWith(s.message(), path + ":");
      std::cerr << (named ? "" : path + ": ") << s.message() << "\n";
      rc = kExitUsage;
    }
  }
  return rc;
}

int StagesCommand() {
  absl::Status s = StageRegistry::Global().status();
  if (!s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return kExitRuntime;
  }
  for (const StageRegistration* reg : StageRegistry::Global().List()) {
    auto stage = reg->factory();
    std::unique_ptr<google::protobuf::Message> opts(reg->options_default->New());
    std::string streams;
    if (stage->Configure(*opts).ok()) {
      StreamContract c = stage->Contract();
      std::vector<std::string> in, out;
      for (PayloadType t : c.inputs) in.emplace_back(PayloadTypeName(t));
      for (PayloadType t : c.outputs) out.emplace_back(PayloadTypeName(t));
      streams = absl::StrFormat("  inputs: [%s]  outputs: [%s]", absl::StrJoin(in, ", "),
                                absl::StrJoin(out, ", "));
    }
    std::cout << reg->type << "  options: " << reg->options_descriptor->full_name() << "\n"
              << streams << "\n"
              << DescribeOptions(reg->options_descriptor, "    ");
  }
  return kExitOk;
}

std::string ReplayDirOf(const std::string& dir) {
  if (std::filesystem::exists(std::filesystem::path(dir) / "replay")) {
    return (std::filesystem::path(dir) / "replay").string();
  }
  return dir;
}

int ReplayVerifyCommand(const std::string& dir) {
  auto report = ReplayStore::Verify(ReplayDirOf(dir), /*record=*/true);
  if (!report.ok()) {
    std::cerr << "error: " << report.status().message() << "\n";
    return kExitRuntime;
  }
  std::cout << report->Text();
  return report->damaged() == 0 ? kExitOk : kExitRuntime;
}

int ReplayStatsCommand(const std::string& dir) {
  const std::string store = ReplayDirOf(dir);
  auto report = ReplayStatsReport(store);
  if (!report.ok()) {
    std::cerr << "error: " << report.status().message() << "\n";
    return kExitRuntime;
  }
  std::cout << *report;
  return kExitOk;
}

int ReportCommand(const std::string& run_dir, bool figures) {
  auto files = WriteReport(run_dir, figures);
  if (!files.ok()) {
    std::cerr << "error: " << files.status().message() << "\n";
    return kExitRuntime;
  }
  std::ifstream in(files->results_md);
  std::cout << in.rdbuf() << "\nwrote " << files->results_md << ", " << files->results_json;
  for (const auto& f : files->figures) std::cout << ", " << f;
  std::cout << "\n";
  return kExitOk;
}

}  // namespace resact
