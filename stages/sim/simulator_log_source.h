#pragma once

#include <memory>

#include "graph/registry.h"
#include "stages/sim/sim_options.pb.h"
#include "stages/sim/sim_world.h"

namespace resact {

// One simulated user's log rows under π_β over the horizon.
struct SimUserLog {
  std::vector<int64_t> item, ts_ms;
  std::vector<float> feedback, logprob;
};
void SimulateLoggedUser(const SimWorld& world, int64_t user_id, SimUserLog* out);
// The profile table of users 1..num_users (SimWorld::Profile).
std::shared_ptr<UserFeatureTable> SimulatedUserProfiles(const SimWorld& world);

class SimulatorLogSource : public StageWithOptions<SimulatorLogSourceOptions> {
 public:
  StreamContract Contract() const override {
    return {{},
            {PayloadType::kRequests, PayloadType::kItemEmbeddings, PayloadType::kUserFeatures},
            /*max_concurrency=*/1,
            /*optional_outputs=*/1};
  }
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Generate(Emitter& out) override;

 protected:
  absl::Status Init() override;

 private:
  const StageContext* ctx_ = nullptr;
  std::unique_ptr<SimWorld> world_;
};

}  // namespace resact
