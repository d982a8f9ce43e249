#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "storage/feature_layout.h"
#include "graph/registry.h"
#include "stages/features/features_options.pb.h"

namespace resact {

class StateFeatures : public StageWithOptions<StateFeaturesOptions> {
 public:
  StreamContract Contract() const override {
    StreamContract c{{PayloadType::kRewardedSessions, PayloadType::kItemEmbeddings},
                     {PayloadType::kReplayBatch},
                     /*max_concurrency=*/0};
    if (options_.user_features()) c.inputs.push_back(PayloadType::kUserFeatures);
    return c;
  }
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;
  absl::Status Close(Emitter& out) override;

  // The replay batch of `sessions` given the item table (public for tests).
  absl::StatusOr<std::shared_ptr<ReplayBatch>> Build(
      std::shared_ptr<const SessionBatch> sessions) const;

 protected:
  absl::Status Init() override;

 private:
  const StageContext* ctx_ = nullptr;
  std::mutex mu_;
  // Whether every table the sessions need has arrived.
  bool Ready() const { return items_ != nullptr && (!options_.user_features() || users_ != nullptr); }
  std::shared_ptr<const ItemTable> items_;
  std::shared_ptr<const UserFeatureTable> users_;  // With options_.user_features().
  absl::flat_hash_map<int64_t, int32_t> item_row_;
  FeatureLayout layout_;
  // Sessions that arrived before the tables.
  std::vector<std::shared_ptr<const SessionBatch>> waiting_;
};

}  // namespace resact
