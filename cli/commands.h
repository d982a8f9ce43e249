// The subcommands of the `resact` binary. Each returns the process exit code:
// 0 ok, 1 runtime error, 2 bad spec or usage.
#pragma once

#include <string>
#include <vector>

namespace resact {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

struct RunArgs {
  std::string fault;  // --fault NAME[:N]: sets RESACT_FAULT (graph/fault.h).
  std::string spec;
  std::vector<std::string> sets;
  std::string workdir;
  int threads = 0;
  double progress_interval = 5;
  bool quiet = false;  // RunOptions::quiet.
};

int RunCommand(const RunArgs& args);
int ValidateCommand(const std::vector<std::string>& specs, const std::vector<std::string>& sets);
int StagesCommand();
// The replay store a command is given: DIR/replay when DIR is a run's
// workdir holding one, else DIR itself (a replay store).
std::string ReplayDirOf(const std::string& dir);
// `resact replay verify DIR`: every block checksum; exit 1 when damaged.
int ReplayVerifyCommand(const std::string& dir);
int ReplayStatsCommand(const std::string& dir);
int ReportCommand(const std::string& run_dir, bool figures);

}  // namespace resact
