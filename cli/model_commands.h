// `resact model list|add|promote|rollback WORKDIR`: the model registry of a
// workdir (storage/model_registry.h) by hand; `resact history WORKDIR`: its
// daily retraining runs. Each returns the process exit
// code (cli/commands.h).
#pragma once

#include <string>

namespace resact {

// A table of every version, the champion marked with '*'.
int ModelListCommand(const std::string& workdir);
// Adds a saved policy folder (and optionally its trainer checkpoint) as the
// next version; prints its name.
int ModelAddCommand(const std::string& workdir, const std::string& model_dir,
                    const std::string& checkpoint, const std::string& note);
int ModelPromoteCommand(const std::string& workdir, const std::string& version);
int ModelRollbackCommand(const std::string& workdir);
// `resact history WORKDIR`: the daily retraining runs (storage/retrain_history.h).
int HistoryCommand(const std::string& workdir);

}  // namespace resact
