// `resact recommend`: the serving path. Top-k items for users' current
// states, from a trained model directory and a run's replay store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace resact {

struct RecommendArgs {
  std::string model;     // Model directory (a learner's RUN_DIR/model).
  std::string workdir;   // Run workdir holding replay/ (or a replay store).
  std::vector<int64_t> users;
  std::string users_file;  // One user id per line.
  int k = 10;
  double now = 0;   // Unix seconds of the request; 0 = each user's last request + 1 h.
  int batch = 512;  // Users per policy call.
};

int RecommendCommand(const RecommendArgs& args);

// Appends the user ids of a --users-file: one integer per line; blank lines
// and lines starting with '#' are skipped. InvalidArgument naming the file
// and line at the first other line.
absl::Status ReadUsersFile(const std::string& path, std::vector<int64_t>* users);

}  // namespace resact
