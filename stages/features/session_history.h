// The one builder of the session-level state s_h (method.md section 1,
// storage/feature_layout.h). The training pipeline (StateFeatures), the
// simulator's online evaluation (SimulatorEvaluator) and serving (`resact
// recommend`, through ReplayUserState) all build s_h with it, so a state
// never differs between training and serving. Its parameters
// (SessionStateParams, graph/payload.h) travel with the ReplayBatch into the
// replay's metadata (ReplayMeta.session_state) and are read back from there
// with SessionStateParamsOf.
//
// Usage, per user: StartUser, then for each session in time order
// BeginSession (which writes that session's s_h from the history before it),
// AddItem per request and EndSession.
//
// With SessionStateParams.engagement (layout.engagement_dim = 3) s_h also
// carries the user's recent engagement, what a retention state such as the
// simulator's trust shows in: bias-corrected EMAs (Σ w·x / Σ w, weights
// (1 − α)^age) of log1p(return hours) and log1p(session length) over earlier
// sessions (α = engagement_session_alpha) and of the raw feedback over
// earlier requests that have one (α = engagement_feedback_alpha); 0 before
// the first value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/payload.h"
#include "stages/reward/reward.h"
#include "storage/feature_layout.h"

namespace resact {

class ReplayMeta;
class ReplayStore;


class SessionHistoryBuilder {
 public:
  SessionHistoryBuilder() = default;
  SessionHistoryBuilder(const FeatureLayout& layout, const SessionStateParams& params);

  // Forgets the history: the next session is the user's first.
  // `static_user` (layout.static_user_dim floats, copied) may be null when
  // that width is 0.
  void StartUser(const float* static_user);
  // Writes layout.session_dim() floats of s_h for the user's next session,
  // which starts at `start_ms`, `hours_since_prev` hours after the previous
  // session ended (ignored for the first session), and opens that session.
  void BeginSession(int64_t start_ms, float hours_since_prev, float* s_h);
  // One request of the open session: the served item's embedding
  // (layout.emb_dim floats) and its feedback (null when the log has none).
  void AddItem(const float* embedding, const float* feedback = nullptr);
  // Closes the open session, which had `length` requests.
  void EndSession(uint64_t length);

  // Sessions closed since StartUser.
  int64_t sessions() const { return sessions_; }

  // The user's history so far as bytes (the embedding EMA, the static
  // features, the running sums and the engagement EMAs, all exact), and
  // back into a builder of the same layout: a builder that loads the state
  // another saved goes on exactly as that one would, between sessions or
  // within one (daily retraining keeps each user's state across days).
  // LoadState: DataLoss when `bytes` is not a state of this layout.
  std::string SaveState() const;
  absl::Status LoadState(absl::string_view bytes);

 private:
  FeatureLayout layout_;
  // A bias-corrected EMA: Σ w·x / Σ w.
  struct Ema {
    double num = 0, den = 0;
    void Add(double x, double alpha) {
      num = (1 - alpha) * num + alpha * x;
      den = (1 - alpha) * den + alpha;
    }
    float value() const { return den > 0 ? static_cast<float>(num / den) : 0.f; }
  };
  float alpha_ = 0.1f;
  SessionStateParams params_;
  std::vector<float> ema_, static_user_;
  int64_t sessions_ = 0;
  double ret_sum_ = 0, len_sum_ = 0;
  Ema recent_return_, recent_length_, recent_feedback_;
};

// The parameters the replay at `replay` (a path, for the message) was built
// with. A replay written before ReplayMeta.session_state existed gets the
// defaults (user_ema_alpha 0.1), with a LOG(WARNING) naming it.
SessionStateParams SessionStateParamsOf(const ReplayMeta& meta, const std::string& replay);
// The meta fields for `params`.
void SetSessionStateParams(const SessionStateParams& params, ReplayMeta* meta);

// Serving: writes layout.state_dim() floats, the state of `user`'s session
// starting at `now_ms` (Unix ms; 0 = one hour after the user's last request):
// s_h from the user's sessions in the replay that started before `now_ms`,
// exactly as the pipeline built it, and s_l at position 0. The static user
// features are those stored in the user's first session. NotFound when the
// user is not in the store; DataLoss on inconsistent records.
absl::Status ReplayUserState(const ReplayStore& store, const ItemTable& items,
                             const FeatureLayout& layout, const SessionStateParams& params,
                             int64_t user, int64_t now_ms, float* state);

}  // namespace resact
