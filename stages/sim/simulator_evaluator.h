#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/feature_layout.h"
#include "graph/payload.h"
#include "graph/policy.h"
#include "graph/load_once.h"
#include "graph/registry.h"
#include "stages/sim/sim_options.pb.h"
#include "stages/sim/sim_oracles.h"
#include "stages/sim/sim_rollout.h"
#include "stages/sim/sim_world.h"

namespace resact {

class SimulatorEvaluator : public StageWithOptions<SimulatorEvaluatorOptions> {
 public:
  StreamContract Contract() const override {
    return {{PayloadType::kPolicy}, {PayloadType::kMetrics}, /*max_concurrency=*/0};
  }
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;

 protected:
  absl::Status Init() override;

 private:
  absl::Status LoadConfig();
  const StageContext* ctx_ = nullptr;
  std::unique_ptr<SimWorld> world_;
  LoadOnce load_;  // LoadConfig() on the first snapshot.
  SimEvalConfig config_;
  // The oracles' metrics for `task`, simulated or read from the cache.
  absl::StatusOr<MetricsBatch> ReferenceRows(const std::string& task);
  absl::StatusOr<MetricsBatch> SimulateReferenceRows(const std::string& task);
  // The task's objective with the replay's reward parameters.
  OracleObjective ObjectiveOf(const std::string& task) const;
  std::shared_ptr<const HeldOutUsers> start_;  // After their history; made once.
  std::vector<SimTrace> baseline_, greedy_;
  std::unique_ptr<SimDynamics> dynamics_;
  std::mutex reference_mu_;  // Guards reference_ and greedy_.
  std::map<std::string, MetricsBatch> reference_;  // Per task.
};

}  // namespace resact
