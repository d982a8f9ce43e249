// DailyIngest: incremental daily ingestion into a replay store (method.md
// section 6). Each run ingests one or more day partitions of a request log
// into the same store, touching only the users of those days, so the cost
// of a day stays flat as history grows; a store built day by day holds the
// same transitions, sessions, users and statistics as one built from the
// same days in a single run.
//
// How a day is ingested, and what the store keeps between days, is in
// day_ingester.cc.
//
// Inputs: 0 requests (RequestBatch; each batch's `source` names its file,
// whose name, or else its folder's, is the day: YYYY-MM-DD or day-N), 1
// item_embeddings (ItemTable), 2 user features (UserFeatureTable, with
// features.user_features). Output: 0 replay (ReplayHandle) once every day is
// in. Serial.
//
// Example:
//   stage {
//     name: "daily" type: "DailyIngest"
//     input_stream: "requests" input_stream: "items"
//     output_stream: "replay_ready"
//     options { [type.googleapis.com/resact.DailyIngestOptions] {
//       gap_seconds: 1800 features { engagement_features: true } } }
//   }
#include "stages/replay/daily_ingest.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "graph/status.h"
#include "storage/replay_store.h"

namespace resact {
namespace fs = std::filesystem;

// ---- The stage ----

StreamContract DailyIngest::Contract() const {
  StreamContract c;
  c.inputs = {PayloadType::kRequests, PayloadType::kItemEmbeddings};
  if (options_.features().user_features()) c.inputs.push_back(PayloadType::kUserFeatures);
  c.outputs = {PayloadType::kReplay};
  c.optional_outputs = 1;
  c.max_concurrency = 1;
  return c;
}

absl::Status DailyIngest::Init() {
  if (!(options_.gap_seconds() > 0)) return absl::InvalidArgumentError("gap_seconds: must be > 0");
  if (options_.window_days() < 1) return absl::InvalidArgumentError("window_days: must be >= 1");
  if (options_.has_day()) {
    absl::StatusOr<int64_t> d = DayOrdinal(options_.day());
    if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat("day: ", d.status().message()));
  }
  const RewardOptions& r = options_.reward();
  if (!(r.return_percentile() >= 0 && r.return_percentile() <= 100)) {
    return absl::InvalidArgumentError("reward.return_percentile: must be in [0, 100]");
  }
  const StateFeaturesOptions& f = options_.features();
  if (!(f.user_ema_alpha() > 0 && f.user_ema_alpha() <= 1)) {
    return absl::InvalidArgumentError("features.user_ema_alpha: must be in (0, 1]");
  }
  return absl::OkStatus();
}

absl::Status DailyIngest::Open(const StageContext& ctx) {
  ctx_ = &ctx;
  return absl::OkStatus();
}

absl::Status DailyIngest::Process(int input, const Packet& packet, Emitter&) {
  std::lock_guard<std::mutex> lock(mu_);
  if (input == 1) {
    if (items_ != nullptr) return absl::InvalidArgumentError("received a second item table");
    items_ = packet.Share<ItemTable>();
    return absl::OkStatus();
  }
  if (input == 2) {
    if (profiles_ != nullptr) {
      return absl::InvalidArgumentError("received a second user feature table");
    }
    profiles_ = packet.Share<UserFeatureTable>();
    return absl::OkStatus();
  }
  const RequestBatch& b = packet.Get<RequestBatch>();
  if (!b.session_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "requests from ", b.source,
        " carry the log's session ids; DailyIngest cuts sessions at gaps (gap_seconds): leave "
        "the reader's session_column unset"));
  }
  std::string name;
  if (options_.has_day()) {
    name = options_.day();
  } else {
    ASSIGN_OR_RETURN(name, DayOfFile(b.source));
  }
  DayRequests& d = days_[name];
  d.name = name;
  if (std::find(d.files.begin(), d.files.end(), b.source) == d.files.end()) {
    d.files.push_back(b.source);
  }
  const size_t before = d.size();
  d.user.insert(d.user.end(), b.user.begin(), b.user.end());
  d.item.insert(d.item.end(), b.item.begin(), b.item.end());
  d.ts_ms.insert(d.ts_ms.end(), b.ts_ms.begin(), b.ts_ms.end());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // A column some batches of the day have and others not: NaN where missing.
  auto append = [&](std::vector<float>& col, const std::vector<float>& from) {
    if (from.empty() && col.empty()) return;
    col.resize(before, nan);
    if (from.empty()) {
      col.resize(d.size(), nan);
    } else {
      col.insert(col.end(), from.begin(), from.end());
    }
  };
  append(d.feedback, b.feedback);
  append(d.logprob, b.behaviour_logprob);
  ctx_->progress().AddRows(b.size());
  return absl::OkStatus();
}

absl::Status DailyIngest::Close(Emitter& out) {
  if (items_ == nullptr) {
    return absl::FailedPreconditionError(
        "no item table arrived on input 1 (input_stream #2); DailyIngest needs the action space");
  }
  if (days_.empty()) {
    return absl::FailedPreconditionError(
        "no requests arrived on input 0: no day to ingest (check the reader's path)");
  }
  std::vector<std::pair<int64_t, DayRequests*>> days;
  for (auto& [name, d] : days_) {
    ASSIGN_OR_RETURN(const int64_t ordinal, DayOrdinal(name));
    days.emplace_back(ordinal, &d);
  }
  std::sort(days.begin(), days.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  fs::path dir(options_.dir());
  if (dir.is_relative()) dir = fs::path(ctx_->workdir()) / dir;
  ReplayStoreOptions so;
  so.create = true;
  so.session_state_float16 = options_.session_state_float16();
  ASSIGN_OR_RETURN(std::unique_ptr<ReplayStore> store, ReplayStore::Open(dir.string(), so));
  ctx_->progress().SetPhase("ingesting days");
  for (auto& [ordinal, d] : days) {
    ASSIGN_OR_RETURN(const DayIngestResult r,
                     IngestDay(*store, options_, *items_, profiles_.get(), *d));
    const DayRecord& rec = r.record;
    if (r.action == DayAction::kNoOp) {
      LOG(INFO) << "[" << ctx_->stage_name() << "] " << d->name
                << ": already ingested with the same content (" << rec.rows()
                << " rows); nothing to do";
    } else {
      LOG(INFO) << "[" << ctx_->stage_name() << "] " << d->name << ": "
                << DayActionName(r.action) << ", " << rec.rows() << " rows of " << rec.users()
                << " users, " << rec.new_sessions() << " new sessions, "
                << rec.completed_returns() << " pending returns completed, "
                << rec.rebuilt_users() << " users rebuilt; now " << rec.pending_returns()
                << " pending and " << rec.censored_returns() << " censored; "
                << absl::StrFormat("%.2f s", r.seconds);
    }
    *d = DayRequests();  // Free the day's rows.
  }
  // The days' writes from the write-ahead log into SST files.
  RETURN_IF_ERROR(store->Flush());
  RETURN_IF_ERROR(store->Close());
  auto handle = std::make_shared<ReplayHandle>();
  handle->dir = dir.string();
  return out.Emit(0, PayloadType::kReplay, std::shared_ptr<const ReplayHandle>(handle));
}

RESACT_REGISTER_STAGE(DailyIngest);

}  // namespace resact
