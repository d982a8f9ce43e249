// StateFeatures: turns rewarded sessions into replay batches. For every
// session it builds the session-level state s_h from the user's history
// before the session (storage/feature_layout.h): an EMA of the embeddings of
// the items consumed in earlier sessions, log1p of the number of earlier
// sessions, of the mean return time and of the hours since the previous
// session, the mean session length so far, and the start's hour-of-day and
// day-of-week; with `engagement_features`, the user's recent return times,
// session lengths and feedback (bias-corrected EMAs); with `user_features`, also the user's static profile row from
// the third input (a UserFeatureTable). The arithmetic is the session-history
// builder's (stages/features/session_history.h), which serving and the
// simulator's evaluation share; its parameters (user_ema_alpha) go with each
// ReplayBatch to the replay writer, which records them in the replay's
// metadata. Every request is mapped to its item-table row; request-level
// features are assembled from those rows when a replay batch is sampled.
// Sessions that arrive before the tables are held until they arrive.
//
// Example:
//   stage {
//     name: "features" type: "StateFeatures"
//     input_stream: "rewarded" input_stream: "items"
//     output_stream: "replay_batches"
//     options { [type.googleapis.com/resact.StateFeaturesOptions] { user_ema_alpha: 0.1 } }
//   }
#include "stages/features/state_features.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "stages/features/session_history.h"

namespace resact {

absl::Status StateFeatures::Init() {
  if (!(options_.user_ema_alpha() > 0 && options_.user_ema_alpha() <= 1)) {
    return absl::InvalidArgumentError("user_ema_alpha: must be in (0, 1]");
  }
  if (options_.engagement_features()) layout_.engagement_dim = FeatureLayout::kEngagementDim;
  return absl::OkStatus();
}

absl::Status StateFeatures::Open(const StageContext& ctx) {
  ctx_ = &ctx;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<ReplayBatch>> StateFeatures::Build(
    std::shared_ptr<const SessionBatch> sessions) const {
  const SessionBatch& b = *sessions;
  if (b.r_rt.size() != b.num_sessions() || b.return_hours.size() != b.num_sessions()) {
    return absl::InvalidArgumentError("sessions arrived without rewards");
  }
  auto out = std::make_shared<ReplayBatch>();
  const int sd = layout_.session_dim();
  out->session_state_dim = sd;
  out->session_state.resize(b.num_sessions() * static_cast<size_t>(sd));
  out->item_index.resize(b.num_requests());
  for (size_t r = 0; r < b.num_requests(); ++r) {
    auto it = item_row_.find(b.item[r]);
    if (it == item_row_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("item ", b.item[r], " is not in the item embedding table"));
    }
    out->item_index[r] = it->second;
  }
  SessionStateParams params;
  params.user_ema_alpha = options_.user_ema_alpha();
  params.engagement = options_.engagement_features();
  params.engagement_session_alpha = options_.engagement_session_alpha();
  params.engagement_feedback_alpha = options_.engagement_feedback_alpha();
  out->has_state_params = true;
  out->state_params = params;
  SessionHistoryBuilder history(layout_, params);
  for (size_t u = 0; u < b.num_users(); ++u) {
    const float* profile = nullptr;
    if (layout_.static_user_dim > 0) {
      profile = users_->Find(b.user[u]);
      if (profile == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "user ", b.user[u], " has no row in the user feature table (input 2, ",
            users_->size(), " users)"));
      }
    }
    history.StartUser(profile);
    for (size_t s = b.user_offset[u]; s < b.user_offset[u + 1]; ++s) {
      const float since_prev = s > b.user_offset[u] ? b.return_hours[s - 1] : 0.f;
      history.BeginSession(b.ts_ms[b.session_offset[s]], since_prev,
                           out->session_state.data() + s * sd);
      for (size_t r = b.session_offset[s]; r < b.session_offset[s + 1]; ++r) {
        history.AddItem(items_->row(out->item_index[r]),
                        b.feedback.empty() ? nullptr : &b.feedback[r]);
      }
      history.EndSession(b.session_length(s));
    }
  }
  out->sessions = std::move(sessions);
  return out;
}

absl::Status StateFeatures::Process(int input, const Packet& packet, Emitter& out) {
  std::vector<std::shared_ptr<const SessionBatch>> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (input == 1) {
      if (items_ != nullptr) {
        return absl::InvalidArgumentError("received a second item embedding table");
      }
      items_ = packet.Share<ItemTable>();
      layout_.emb_dim = items_->dim;
      item_row_.reserve(items_->size());
      for (size_t i = 0; i < items_->size(); ++i) {
        item_row_[items_->item_id[i]] = static_cast<int32_t>(i);
      }
      if (Ready()) ready.swap(waiting_);
    } else if (input == 2) {
      if (users_ != nullptr) {
        return absl::InvalidArgumentError("received a second user feature table");
      }
      users_ = packet.Share<UserFeatureTable>();
      if (users_->dim < 1 || users_->values.size() != users_->size() * users_->dim) {
        return absl::InvalidArgumentError(
            absl::StrCat("user feature table: dim ", users_->dim, " with ", users_->size(),
                         " users and ", users_->values.size(), " values"));
      }
      layout_.static_user_dim = users_->dim;
      if (Ready()) ready.swap(waiting_);
    } else if (!Ready()) {
      waiting_.push_back(packet.Share<SessionBatch>());
      return absl::OkStatus();
    } else {
      ready.push_back(packet.Share<SessionBatch>());
    }
  }
  for (auto& sessions : ready) {
    const size_t n = sessions->num_requests();
    ASSIGN_OR_RETURN(std::shared_ptr<ReplayBatch> batch, Build(std::move(sessions)));
    RETURN_IF_ERROR(out.Emit(0, PayloadType::kReplayBatch,
                             std::shared_ptr<const ReplayBatch>(std::move(batch))));
    ctx_->progress().AddRows(n);
  }
  return absl::OkStatus();
}

absl::Status StateFeatures::Close(Emitter&) {
  std::lock_guard<std::mutex> lock(mu_);
  if (items_ == nullptr && !waiting_.empty()) {
    return absl::FailedPreconditionError(
        "no item embedding table arrived on input 1 (input_stream #2); sessions cannot be "
        "featurized");
  }
  if (!Ready() && !waiting_.empty()) {
    return absl::FailedPreconditionError(
        "no user feature table arrived on input 2 (input_stream #3, user_features: true); "
        "sessions cannot be featurized");
  }
  return absl::OkStatus();
}

RESACT_REGISTER_STAGE(StateFeatures);

}  // namespace resact
