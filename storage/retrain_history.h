// The history of daily retraining runs of a workdir (method.md section 6,
// "every run writes a manifest"): WORKDIR/daily/history.pbtxt, a
// RetrainHistory (storage/daily.proto) replaced whole and atomically at the
// end of each run, and its table for `resact history WORKDIR`. No torch.
//
// Example:
//   ASSIGN_OR_RETURN(RetrainHistory h, ReadRetrainHistory(workdir));
//   RETURN_IF_ERROR(AppendRetrainRun(workdir, run));
//   std::cout << FormatRetrainHistory(h);
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "storage/daily.pb.h"

namespace resact {

// WORKDIR/daily/history.pbtxt.
std::string RetrainHistoryPath(const std::string& workdir);
// The history (empty when no run has finished). DataLoss naming the file
// when it does not parse.
absl::StatusOr<RetrainHistory> ReadRetrainHistory(const std::string& workdir);
// The run of `day`, or null.
const RetrainRun* FindRetrainRun(const RetrainHistory& history, const std::string& day);
// Appends `run` (write, fsync, rename). A crash leaves the old history.
absl::Status AppendRetrainRun(const std::string& workdir, const RetrainRun& run);
// A Markdown table, one row per run.
std::string FormatRetrainHistory(const RetrainHistory& history);

}  // namespace resact
