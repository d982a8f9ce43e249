#include "cli/model_commands.h"

#include <ctime>
#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "storage/model_registry.h"
#include "storage/retrain_history.h"

namespace resact {
namespace {

int Fail(const absl::Status& s) {
  std::cerr << "error: " << s.message() << "\n";
  return absl::IsNotFound(s) || absl::IsInvalidArgument(s) ? kExitUsage : kExitRuntime;
}

std::string Time(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace

int ModelListCommand(const std::string& workdir) {
  const ModelRegistry reg = ModelRegistry::Open(workdir);
  auto versions = reg.List();
  if (!versions.ok()) return Fail(versions.status());
  if (versions->empty()) {
    std::cout << "no model versions in " << reg.dir() << "\n";
    return kExitOk;
  }
  std::cout << "| | version | created (UTC) | algo | steps | day | parent | note |\n"
               "|---|---|---|---|---|---|---|---|\n";
  for (const ModelVersionEntry& e : *versions) {
    const ModelVersionInfo& i = e.info;
    std::cout << absl::StrFormat("| %s | %s | %s | %s | %d | %s | %s | %s |\n",
                                 e.champion ? "*" : "", i.version(),
                                 Time(i.created_unix_seconds()), i.algo(), i.steps(),
                                 i.day().empty() ? "–" : i.day(),
                                 i.parent().empty() ? "–" : i.parent(), i.note());
  }
  auto state = reg.State();
  if (!state.ok()) return Fail(state.status());
  std::cout << "\nchampion: " << (state->champion().empty() ? "none" : state->champion()) << " ("
            << state->promotion_size() << " promotions)\n";
  return kExitOk;
}

int ModelAddCommand(const std::string& workdir, const std::string& model_dir,
                    const std::string& checkpoint, const std::string& note) {
  ModelRegistry reg = ModelRegistry::Open(workdir);
  ModelVersionInfo info;
  info.set_note(note);
  info.set_source(model_dir);
  auto name = reg.AddVersion(model_dir, checkpoint, info);
  if (!name.ok()) return Fail(name.status());
  std::cout << "added " << *name << " (" << reg.dir() << "/" << *name << ")\n";
  return kExitOk;
}

int ModelPromoteCommand(const std::string& workdir, const std::string& version) {
  ModelRegistry reg = ModelRegistry::Open(workdir);
  if (absl::Status s = reg.Promote(version, "manual (resact model promote)"); !s.ok()) {
    return Fail(s);
  }
  std::cout << "champion: " << version << "\n";
  return kExitOk;
}

int ModelRollbackCommand(const std::string& workdir) {
  ModelRegistry reg = ModelRegistry::Open(workdir);
  auto champion = reg.Rollback();
  if (!champion.ok()) return Fail(champion.status());
  std::cout << "rolled back; champion: " << *champion << "\n";
  return kExitOk;
}

int HistoryCommand(const std::string& workdir) {
  auto history = ReadRetrainHistory(workdir);
  if (!history.ok()) return Fail(history.status());
  if (history->run().empty()) {
    std::cout << "no daily retraining runs in " << RetrainHistoryPath(workdir)
              << " (run pipelines/daily_retrain.pbtxt)\n";
    return kExitOk;
  }
  std::cout << FormatRetrainHistory(*history);
  return kExitOk;
}

}  // namespace resact
