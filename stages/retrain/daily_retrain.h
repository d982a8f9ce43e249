// DailyRetrain (the stage's description and example are in
// daily_retrain.cc): after a day is ingested, trains a challenger warm from
// the champion, judges the two on the newest held-out days and promotes the
// winner in the workdir's model registry. No torch in this header.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "graph/registry.h"
#include "stages/evaluators/session_wis.h"
#include "stages/retrain/retrain_options.pb.h"
#include "storage/daily.pb.h"

namespace resact {

class Progress;

// Where a run reports: progress (may be null), cancellation (may be empty)
// and the label of its log lines.
struct RetrainEnv {
  Progress* progress = nullptr;
  std::function<bool()> cancelled;
  std::string label = "retrain";
};

// One daily retraining run on the daily store `replay_dir` for the
// workdir `workdir` (its models/ registry, its daily/ runs and history):
// the run after the manifest's newest day. A day already in the history is
// a no-op that returns its row. Re-running after a crash at any point
// completes the run: training resumes from the run's checkpoint, a version
// already added is not added again, and the promotion is one atomic step.
absl::StatusOr<RetrainRun> RetrainAfterNewestDay(const DailyRetrainOptions& options,
                                                 const std::string& workdir,
                                                 const std::string& replay_dir,
                                                 const RetrainEnv& env = {});

// The promotion rule: the challenger wins when the lower end of the CI of
// challenger − champion is above `margin` (an equal challenger, CI [0, 0],
// does not win at margin 0).
inline bool ChallengerWins(const PairedDifference& d, double margin) { return d.ci_low > margin; }

// The option checks of the stage (Init): the learner's, the window's, the
// judging's.
absl::Status CheckDailyRetrainOptions(const DailyRetrainOptions& options);

class DailyRetrain : public StageWithOptions<DailyRetrainOptions> {
 public:
  StreamContract Contract() const override;
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;

 protected:
  absl::Status Init() override;

 private:
  const StageContext* ctx_ = nullptr;
};

}  // namespace resact
