#include "storage/retrain_history.h"

#include <cmath>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/text_format.h"
#include "graph/files.h"
#include "graph/status.h"

namespace resact {
namespace fs = std::filesystem;

std::string RetrainHistoryPath(const std::string& workdir) {
  return (fs::path(workdir) / "daily" / "history.pbtxt").string();
}

absl::StatusOr<RetrainHistory> ReadRetrainHistory(const std::string& workdir) {
  RetrainHistory history;
  const std::string path = RetrainHistoryPath(workdir);
  auto text = ReadFileToString(path);
  if (absl::IsNotFound(text.status())) return history;
  RETURN_IF_ERROR(text.status());
  if (!google::protobuf::TextFormat::ParseFromString(*text, &history)) {
    return absl::DataLossError(
        absl::StrCat("retrain history ", path, " is not a text-format RetrainHistory"));
  }
  return history;
}

const RetrainRun* FindRetrainRun(const RetrainHistory& history, const std::string& day) {
  for (const RetrainRun& r : history.run()) {
    if (r.day() == day) return &r;
  }
  return nullptr;
}

absl::Status AppendRetrainRun(const std::string& workdir, const RetrainRun& run) {
  ASSIGN_OR_RETURN(RetrainHistory history, ReadRetrainHistory(workdir));
  *history.add_run() = run;
  const std::string path = RetrainHistoryPath(workdir);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", fs::path(path).parent_path().string(), ": ", ec.message()));
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(history, &text);
  return WriteFileAtomically(
      path, "# Daily retraining runs (storage/retrain_history.h); `resact history` shows them.\n" +
                text);
}

namespace {

std::string Estimate(double value, double low, double high) {
  return absl::StrFormat("%.4f [%.4f, %.4f]", value, low, high);
}

std::string Truth(bool has, double value) {
  return has && std::isfinite(value) ? absl::StrFormat("%.4f", value) : "–";
}

}  // namespace

std::string FormatRetrainHistory(const RetrainHistory& history) {
  std::string out =
      "| day | rows | new sessions | completed | pending | censored | steps | champion | "
      "estimate | challenger | estimate | difference | true champion | true challenger | "
      "true π_β | decision |\n"
      "|---|---:|---:|---:|---:|---:|---:|---|---|---|---|---|---:|---:|---:|---|\n";
  for (const RetrainRun& r : history.run()) {
    const bool first = r.champion().empty();
    absl::StrAppend(
        &out, "| ", r.day(), " | ", r.rows(), " | ", r.new_sessions(), " | ",
        r.completed_returns(), " | ", r.pending_returns(), " | ", r.censored_returns(), " | ",
        r.steps(), " | ", first ? "–" : r.champion(), " | ",
        first ? "–" : Estimate(r.champion_value(), r.champion_low(), r.champion_high()), " | ",
        r.challenger(), " | ",
        first ? "–" : Estimate(r.challenger_value(), r.challenger_low(), r.challenger_high()),
        " | ", first ? "–" : Estimate(r.difference(), r.difference_low(), r.difference_high()),
        " | ", Truth(r.has_champion_true(), r.champion_true()), " | ",
        Truth(r.has_challenger_true(), r.challenger_true()), " | ",
        Truth(r.has_behaviour_true(), r.behaviour_true()), " | ", r.decision(), " |\n");
  }
  if (!history.run().empty()) {
    const RetrainRun& last = history.run(history.run_size() - 1);
    absl::StrAppend(&out, "\nEstimates: ", last.estimator(), " on the test users' newest days (",
                    last.trajectories(), " trajectories in the last run), 95% bootstrap CIs; ",
                    "true values: the simulator's task reward per request.\n");
  }
  return out;
}

}  // namespace resact
