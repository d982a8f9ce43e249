#pragma once

#include <mutex>
#include <vector>

#include "graph/registry.h"
#include "stages/features/features_options.pb.h"

namespace resact {

// Item embeddings from (user row, item column, weight) triples: truncated
// randomized SVD, item factors V·sqrt(Σ), standardized per dimension,
// divided by action_scale and clipped to [-1, 1]. Items that occur only in
// `all_items` (not in the triples) get the all-zero embedding (the catalogue
// mean). Deterministic for a seed.
ItemTable ComputeItemEmbeddings(const std::vector<int64_t>& all_items,
                                const std::vector<uint32_t>& rows,
                                const std::vector<int64_t>& items,
                                const std::vector<float>& weights, uint32_t num_rows,
                                const ItemEmbeddingOptions& options);

class ItemEmbedding : public StageWithOptions<ItemEmbeddingOptions> {
 public:
  StreamContract Contract() const override {
    return {{PayloadType::kSessions}, {PayloadType::kItemEmbeddings}, /*max_concurrency=*/0};
  }
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;
  absl::Status Close(Emitter& out) override;

 protected:
  absl::Status Init() override;

 private:
  const StageContext* ctx_ = nullptr;
  std::mutex mu_;
  uint32_t train_users_ = 0;
  std::vector<uint32_t> rows_;   // Train user row per interaction.
  std::vector<int64_t> items_;   // Item per interaction.
  std::vector<float> weights_;
  std::vector<int64_t> all_items_;  // Every item seen, train or test.
};

}  // namespace resact
