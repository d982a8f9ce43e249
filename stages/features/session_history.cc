#include "stages/features/session_history.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/status.h"
#include "storage/replay.pb.h"
#include "storage/replay_format.h"
#include "storage/replay_store.h"

namespace resact {

SessionHistoryBuilder::SessionHistoryBuilder(const FeatureLayout& layout,
                                             const SessionStateParams& params)
    : layout_(layout),
      alpha_(static_cast<float>(params.user_ema_alpha)),
      params_(params),
      ema_(layout.emb_dim, 0.f) {}

void SessionHistoryBuilder::StartUser(const float* static_user) {
  std::fill(ema_.begin(), ema_.end(), 0.f);
  if (static_user != nullptr) {
    static_user_.assign(static_user, static_user + layout_.static_user_dim);
  } else {
    static_user_.clear();
  }
  sessions_ = 0;
  ret_sum_ = 0;
  len_sum_ = 0;
  recent_return_ = recent_length_ = recent_feedback_ = Ema();
}

void SessionHistoryBuilder::BeginSession(int64_t start_ms, float hours_since_prev, float* s_h) {
  const int64_t k = sessions_;  // Earlier sessions.
  // The return time to this session belongs to the history before it.
  if (k > 0) {
    ret_sum_ += hours_since_prev;
    if (layout_.engagement_dim > 0) {  // The EMAs only feed those features.
      recent_return_.Add(std::log1p(std::max(0.0, static_cast<double>(hours_since_prev))),
                         params_.engagement_session_alpha);
    }
  }
  const float engagement[FeatureLayout::kEngagementDim] = {
      recent_return_.value(), recent_length_.value(), recent_feedback_.value()};
  SessionHistory h;
  h.user_embedding = ema_.data();
  h.prev_sessions = k;
  h.mean_return_hours = k > 0 ? ret_sum_ / static_cast<double>(k) : 0;
  h.mean_session_length = k > 0 ? len_sum_ / static_cast<double>(k) : 0;
  h.hours_since_prev = k > 0 ? hours_since_prev : 0;
  h.start_ts_ms = start_ms;
  h.engagement = engagement;
  h.static_user = static_user_.empty() ? nullptr : static_user_.data();
  FillSessionFeatures(layout_, h, s_h);
}

void SessionHistoryBuilder::AddItem(const float* e, const float* feedback) {
  if (feedback != nullptr && layout_.engagement_dim > 0) {
    recent_feedback_.Add(*feedback, params_.engagement_feedback_alpha);
  }
  // In float, item by item: the arithmetic every replay was written with.
  for (int c = 0; c < layout_.emb_dim; ++c) ema_[c] = (1 - alpha_) * ema_[c] + alpha_ * e[c];
}

void SessionHistoryBuilder::EndSession(uint64_t length) {
  len_sum_ += static_cast<double>(length);
  if (layout_.engagement_dim > 0) {
    recent_length_.Add(std::log1p(static_cast<double>(length)), params_.engagement_session_alpha);
  }
  ++sessions_;
}

namespace {

constexpr char kStateMagic = 'S';

template <class T>
void Put(const T& v, std::string* out) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <class T>
bool Get(absl::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(v, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

}  // namespace

std::string SessionHistoryBuilder::SaveState() const {
  std::string out(1, kStateMagic);
  Put(static_cast<int32_t>(ema_.size()), &out);
  for (float x : ema_) Put(x, &out);
  Put(static_cast<int32_t>(static_user_.size()), &out);
  for (float x : static_user_) Put(x, &out);
  Put(sessions_, &out);
  Put(ret_sum_, &out);
  Put(len_sum_, &out);
  for (const Ema* e : {&recent_return_, &recent_length_, &recent_feedback_}) {
    Put(e->num, &out);
    Put(e->den, &out);
  }
  return out;
}

absl::Status SessionHistoryBuilder::LoadState(absl::string_view in) {
  auto bad = [](const char* why) {
    return absl::DataLossError(absl::StrCat("session-history state: ", why));
  };
  if (in.empty() || in.front() != kStateMagic) return bad("not a saved state");
  in.remove_prefix(1);
  int32_t n = 0;
  if (!Get(&in, &n) || n != layout_.emb_dim) return bad("embedding width differs from the layout");
  std::vector<float> ema(n);
  for (float& x : ema) {
    if (!Get(&in, &x)) return bad("cut short");
  }
  int32_t m = 0;
  if (!Get(&in, &m) || (m != 0 && m != layout_.static_user_dim)) {
    return bad("static user width differs from the layout");
  }
  std::vector<float> static_user(m);
  for (float& x : static_user) {
    if (!Get(&in, &x)) return bad("cut short");
  }
  int64_t sessions = 0;
  double ret = 0, len = 0;
  Ema e[3];
  bool ok = Get(&in, &sessions) && Get(&in, &ret) && Get(&in, &len);
  for (Ema& x : e) ok = ok && Get(&in, &x.num) && Get(&in, &x.den);
  if (!ok || !in.empty() || sessions < 0) return bad("bad counts or trailing bytes");
  ema_ = std::move(ema);
  static_user_ = std::move(static_user);
  sessions_ = sessions;
  ret_sum_ = ret;
  len_sum_ = len;
  recent_return_ = e[0];
  recent_length_ = e[1];
  recent_feedback_ = e[2];
  return absl::OkStatus();
}

SessionStateParams SessionStateParamsOf(const ReplayMeta& meta, const std::string& replay) {
  SessionStateParams p;
  if (meta.session_state().has_user_ema_alpha()) {
    p.user_ema_alpha = meta.session_state().user_ema_alpha();
  } else {
    LOG(WARNING) << "replay " << replay
                 << ": its metadata does not say how s_h was built (ReplayMeta.session_state, "
                    "written since the session-history builder); assuming user_ema_alpha "
                 << p.user_ema_alpha << ", the default";
  }
  const auto& ms = meta.session_state();
  p.engagement = ms.engagement();
  if (ms.has_engagement_session_alpha()) p.engagement_session_alpha = ms.engagement_session_alpha();
  if (ms.has_engagement_feedback_alpha()) {
    p.engagement_feedback_alpha = ms.engagement_feedback_alpha();
  }
  return p;
}

void SetSessionStateParams(const SessionStateParams& params, ReplayMeta* meta) {
  auto* ms = meta->mutable_session_state();
  ms->set_user_ema_alpha(params.user_ema_alpha);
  if (params.engagement) {
    ms->set_engagement(true);
    ms->set_engagement_session_alpha(params.engagement_session_alpha);
    ms->set_engagement_feedback_alpha(params.engagement_feedback_alpha);
  }
}

absl::Status ReplayUserState(const ReplayStore& store, const ItemTable& items,
                             const FeatureLayout& layout, const SessionStateParams& params,
                             int64_t user, int64_t now_ms, float* state) {
  ASSIGN_OR_RETURN(ReplayUserRecord rec, store.GetUser(user));
  const int64_t now = now_ms > 0 ? now_ms : rec.last_ts_ms + 3600 * 1000;
  const std::string prefix = ReplayUserKey(user);
  auto sessions = store.NewCursor(ReplayTable::kSessions);
  auto requests = store.NewCursor(ReplayTable::kTransitions);
  auto in_user = [&](const auto& c) {
    return c->Valid() && c->key().substr(0, prefix.size()) == prefix;
  };
  auto bad = [&](const auto&... what) {
    return absl::DataLossError(absl::StrCat("user ", user, ": ", what...));
  };
  const size_t sd = static_cast<size_t>(layout.session_dim());
  SessionHistoryBuilder history(layout, params);
  std::vector<float> profile, s_h(sd);
  ReplaySessionRecord sr;
  ReplayTransitionRecord tr;
  bool any = false;
  int64_t last_end_ms = 0;
  requests->Seek(prefix);
  for (sessions->Seek(prefix); in_user(sessions); sessions->Next()) {
    RETURN_IF_ERROR(sessions->Get(&sr));
    if (sr.s_h.size() != sd) {
      return bad("a session state of ", sr.s_h.size(), " floats, the layout has ", sd);
    }
    if (!any) {
      // Static user features are the same in every session's s_h: the first's.
      profile.assign(sr.s_h.end() - layout.static_user_dim, sr.s_h.end());
      history.StartUser(profile.empty() ? nullptr : profile.data());
      any = true;
    }
    if (sr.start_ts_ms >= now) break;
    history.BeginSession(sr.start_ts_ms, ReturnHoursBetween(last_end_ms, sr.start_ts_ms),
                         s_h.data());
    uint64_t n = 0;
    for (; in_user(requests); requests->Next()) {
      RETURN_IF_ERROR(requests->Get(&tr));
      if (tr.session != sr.session) break;
      if (tr.item_index < 0 || static_cast<size_t>(tr.item_index) >= items.size()) {
        return bad("session ", sr.session, " request ", tr.request, " has item row ",
                   tr.item_index, "; the item table has ", items.size(), " rows");
      }
      history.AddItem(items.row(tr.item_index), tr.has_feedback ? &tr.feedback : nullptr);
      last_end_ms = sr.start_ts_ms + static_cast<int64_t>(tr.dt_ms);
      ++n;
    }
    if (n != sr.length) {
      return bad("session ", sr.session, " has ", n, " transitions, its record says ", sr.length);
    }
    history.EndSession(n);
  }
  RETURN_IF_ERROR(sessions->status());
  RETURN_IF_ERROR(requests->status());
  if (!any) return bad("no session in the replay store");
  history.BeginSession(now, ReturnHoursBetween(last_end_ms, std::max(now, last_end_ms)), state);
  FillRequestFeatures(layout, 0, 0, nullptr, nullptr, 0, state + sd);
  return absl::OkStatus();
}

}  // namespace resact
