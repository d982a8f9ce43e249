// The learner-library entry points the command line calls, for a build with
// -DRESACT_LEARNERS=OFF (no LibTorch): each says so instead of failing to link.
// The data-path commands (run on data-path specs, validate, stages, replay
// stats, bench ingest|gen-log|sim) work as usual.
#include "absl/status/status.h"
#include "cli/bench_train.h"
#include "graph/policy.h"
#include "stages/experiment/report.h"
#include "stages/learners/policy/policy_io.h"
#include "stages/retrain/daily_retrain.h"

namespace resact {
namespace {

absl::Status NotBuilt(const char* what) {
  return absl::UnimplementedError(std::string(what) +
                                  " needs the learners; this resact was built with "
                                  "-DRESACT_LEARNERS=OFF (reconfigure with ON)");
}

}  // namespace

absl::StatusOr<std::string> BenchTrain(const BenchTrainOptions&) {
  return NotBuilt("bench train");
}

absl::StatusOr<ReportFiles> WriteReport(const std::string&, bool) { return NotBuilt("report"); }

absl::StatusOr<std::shared_ptr<const Policy>> LoadPolicy(const std::string&) {
  return NotBuilt("recommend");
}

absl::StatusOr<RetrainRun> RetrainAfterNewestDay(const DailyRetrainOptions&, const std::string&,
                                                 const std::string&, const RetrainEnv&) {
  return NotBuilt("the daily job's retraining (bench daily --train-steps)");
}

absl::Status CheckDailyRetrainOptions(const DailyRetrainOptions&) {
  return NotBuilt("the daily job's retraining (bench daily --train-steps; 0 ingests only)");
}

}  // namespace resact
