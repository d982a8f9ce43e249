// Discard: a sink that counts and drops what it receives. Ends a partial
// pipeline (e.g. to time ingestion without storage) and is used by benchmarks.
//
// Example:
//   stage {
//     name: "drop" type: "Discard" input_stream: "rewarded"
//     options { [type.googleapis.com/resact.DiscardOptions] { payload: REWARDED_SESSIONS } }
//   }
#include "graph/registry.h"
#include "stages/util/util_options.pb.h"

namespace resact {

class Discard : public StageWithOptions<DiscardOptions> {
 public:
  StreamContract Contract() const override { return {{Kind()}, {}, /*max_concurrency=*/0}; }
  absl::Status Open(const StageContext& ctx) override {
    ctx_ = &ctx;
    return absl::OkStatus();
  }
  absl::Status Process(int, const Packet& packet, Emitter&) override {
    uint64_t rows = 0;
    switch (packet.type) {
      case PayloadType::kRequests: rows = packet.Get<RequestBatch>().size(); break;
      case PayloadType::kSessions:
      case PayloadType::kRewardedSessions: rows = packet.Get<SessionBatch>().num_requests(); break;
      case PayloadType::kReplayBatch:
        rows = packet.Get<ReplayBatch>().sessions->num_requests();
        break;
      default: rows = 1;
    }
    ctx_->progress().AddRows(rows);
    return absl::OkStatus();
  }

 private:
  PayloadType Kind() const {
    switch (options_.payload()) {
      case DiscardOptions::SESSIONS: return PayloadType::kSessions;
      case DiscardOptions::REWARDED_SESSIONS: return PayloadType::kRewardedSessions;
      case DiscardOptions::ITEM_EMBEDDINGS: return PayloadType::kItemEmbeddings;
      case DiscardOptions::REPLAY_BATCH: return PayloadType::kReplayBatch;
      case DiscardOptions::METRICS: return PayloadType::kMetrics;
      default: return PayloadType::kRequests;
    }
  }
  const StageContext* ctx_ = nullptr;
};
RESACT_REGISTER_STAGE(Discard);

}  // namespace resact
