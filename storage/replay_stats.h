// `resact replay stats DIR`: a summary of a replay store in the spirit of the
// ResAct paper's Table 1 — counts, session length, sessions per user and
// return time distributions, per-task reward histograms, bytes on disk.
// Distributions are computed by scanning the sessions and users column
// families (not from the meta); quartiles interpolate linearly between
// order statistics (numpy's default).
#pragma once

#include <cstdint>
#include <string>

#include "storage/log_stats.h"

#include "absl/status/statusor.h"
#include "storage/replay.pb.h"
#include "storage/replay_store.h"

namespace resact {

struct ReplayDistribution {
  uint64_t n = 0;
  double mean = 0, min = 0, q25 = 0, q50 = 0, q75 = 0, max = 0;
};

struct ReplayStats {
  std::string dir;
  ReplayMeta meta;
  uint64_t users = 0, train_users = 0, test_users = 0;
  uint64_t sessions = 0, requests = 0, items = 0;
  ReplayDistribution session_length;  // Requests per session.
  ReplayDistribution sessions_per_user;
  ReplayDistribution return_hours;  // Over sessions with a next session.
  uint64_t r_rt_hist[6] = {0, 0, 0, 0, 0, 0};
  uint64_t r_sl_hist[6] = {0, 0, 0, 0, 0, 0};
  uint64_t both_hist[11] = {};  // 0.5·(r_rt + r_sl) = 0, 0.5, …, 5.
  ReplayStoreSizes sizes;
  double disk_bytes_per_transition = 0;  // Every file in the directory.
  double sst_bytes_per_transition = 0;   // SST data of all tables (no WAL/LOG).
  LogStats table1;  // The paper's Table 1 statistics (per-user means).
};

// Scans the store in `dir` (read-only; a WRITING store is reported as such).
absl::StatusOr<ReplayStats> ComputeReplayStats(const std::string& dir);
// The text report.
std::string FormatReplayStats(const ReplayStats& stats);
// ComputeReplayStats + FormatReplayStats.
absl::StatusOr<std::string> ReplayStatsReport(const std::string& dir);

}  // namespace resact
