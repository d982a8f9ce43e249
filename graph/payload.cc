#include "graph/payload.h"

#include <algorithm>

namespace resact {

absl::string_view PayloadTypeName(PayloadType t) {
  switch (t) {
    case PayloadType::kRequests: return "requests";
    case PayloadType::kSessions: return "sessions";
    case PayloadType::kRewardedSessions: return "rewarded_sessions";
    case PayloadType::kItemEmbeddings: return "item_embeddings";
    case PayloadType::kReplayBatch: return "replay_batch";
    case PayloadType::kReplay: return "replay";
    case PayloadType::kPolicy: return "policy";
    case PayloadType::kMetrics: return "metrics";
    case PayloadType::kUserFeatures: return "user_features";
  }
  return "unknown";
}

void RequestBatch::reserve(size_t n) {
  user.reserve(n);
  item.reserve(n);
  ts_ms.reserve(n);
}

int64_t ItemTable::Index(int64_t id) const {
  auto it = std::lower_bound(item_id.begin(), item_id.end(), id);
  if (it == item_id.end() || *it != id) return -1;
  return it - item_id.begin();
}

const float* UserFeatureTable::Find(int64_t id) const {
  auto it = std::lower_bound(user_id.begin(), user_id.end(), id);
  if (it == user_id.end() || *it != id) return nullptr;
  return values.data() + (it - user_id.begin()) * static_cast<size_t>(dim);
}

}  // namespace resact
