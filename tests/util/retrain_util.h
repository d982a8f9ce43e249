// What a daily-retraining workdir ended with, for comparing a killed and
// re-run workdir with a clean one (tests/retrain).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "graph/files.h"
#include "storage/model_registry.h"
#include "storage/retrain_history.h"

namespace resact {
namespace testing_util {

// What a workdir ended with: the history without its times, each version's
// info without its time and its weights, and the champion.
inline std::string RetrainOutcome(const std::string& workdir) {
  std::string out;
  auto history = ReadRetrainHistory(workdir);
  if (!history.ok()) return history.status().ToString();
  for (RetrainRun run : history->run()) {
    run.clear_unix_seconds();
    run.clear_seconds();
    absl::StrAppend(&out, run.ShortDebugString(), "\n");
  }
  const ModelRegistry reg = ModelRegistry::Open(workdir);
  auto versions = reg.List();
  if (!versions.ok()) return versions.status().ToString();
  for (const ModelVersionEntry& v : *versions) {
    ModelVersionInfo info = v.info;
    info.clear_created_unix_seconds();
    info.clear_source();
    auto weights = ReadFileToString(v.dir + "/model/model.pt");
    absl::StrAppend(&out, info.ShortDebugString(), v.champion ? " *" : "", " weights ",
                    weights.ok() ? std::hash<std::string>()(*weights) : 0, "\n");
  }
  auto state = reg.State();
  absl::StrAppend(&out, "champion ", state.ok() ? state->champion() : "?", " promotions ",
                  state.ok() ? state->promotion_size() : -1, "\n");
  for (const auto& e : std::filesystem::directory_iterator(reg.dir())) {
    absl::StrAppend(&out, e.path().filename().string(), " ");
  }
  return out;
}

}  // namespace testing_util
}  // namespace resact
