// DailyIngest (the stage's description and example are in daily_ingest.cc):
// incremental daily ingestion of day partitions into a daily replay store,
// and the functions it is made of, for tests and benchmarks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/registry.h"
#include "stages/replay/daily_ingest_options.pb.h"
#include "storage/daily.pb.h"
#include "storage/day_manifest.h"

namespace resact {

class ReplayStore;

// One day partition's requests, in any order.
struct DayRequests {
  std::string name;  // "2026-11-28", "day-003".
  std::vector<int64_t> user, item, ts_ms;
  // Empty when the log has no such column; else one value per request.
  std::vector<float> feedback, logprob;
  std::vector<std::string> files;  // Where the rows came from, for messages.
  size_t size() const { return user.size(); }
};

// The day's content checksum: independent of the order of its rows.
uint64_t DayContentChecksum(const DayRequests& day);

// The day a file belongs to: its name without the extension when that is
// a day (storage/day_manifest.h DayOrdinal), else its folder's name; an
// error naming the file when neither is.
absl::StatusOr<std::string> DayOfFile(const std::string& path);

struct DayIngestResult {
  DayAction action = DayAction::kNoOp;
  DayRecord record;  // As stored in the manifest.
  double seconds = 0;
};

// Ingests `day` into the daily store `store` (opened for writing; a store
// without meta is a new daily store). `profiles` may be null unless
// options.features().user_features(). Errors name the day, its files, the
// user or the option concerned; nothing is written then.
absl::StatusOr<DayIngestResult> IngestDay(ReplayStore& store, const DailyIngestOptions& options,
                                          const ItemTable& items,
                                          const UserFeatureTable* profiles,
                                          const DayRequests& day);

// The store's daily state (manifest, statistics); NotFound when `store` is
// not a daily store.
absl::StatusOr<DailyState> ReadDailyState(const ReplayStore& store);

class DailyIngest : public StageWithOptions<DailyIngestOptions> {
 public:
  StreamContract Contract() const override;
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;
  absl::Status Close(Emitter& out) override;

 protected:
  absl::Status Init() override;

 private:
  const StageContext* ctx_ = nullptr;
  std::mutex mu_;
  std::map<std::string, DayRequests> days_;  // By name.
  std::shared_ptr<const ItemTable> items_;
  std::shared_ptr<const UserFeatureTable> profiles_;
  bool saw_feedback_ = false, saw_logprob_ = false;
};

}  // namespace resact
