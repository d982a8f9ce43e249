#include "storage/replay_batch_format.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "graph/status.h"
#include "storage/feature_layout.h"

namespace resact {

// ---- Checks ----

absl::Status ValidateReplayBatch(const ReplayBatch& b) {
  if (b.sessions == nullptr) return absl::InvalidArgumentError("ReplayBatch without sessions");
  const SessionBatch& s = *b.sessions;
  const size_t U = s.num_users(), S = s.num_sessions(), R = s.num_requests();
  auto bad = [](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat("malformed ReplayBatch: ", parts...));
  };
  if (s.is_test.size() != U) return bad("is_test has ", s.is_test.size(), " rows, users ", U);
  if (s.user_offset.size() != U + 1) {
    return bad("user_offset has ", s.user_offset.size(), " entries, want users+1 = ", U + 1);
  }
  if (U > 0 && (s.user_offset[0] != 0 || s.user_offset[U] != S)) {
    return bad("user_offset must run from 0 to sessions = ", S);
  }
  if (S > 0 && (s.session_offset[0] != 0 || s.session_offset[S] != R)) {
    return bad("session_offset must run from 0 to requests = ", R);
  }
  if (S == 0 && R != 0) return bad(R, " requests but no sessions");
  if (s.ts_ms.size() != R) return bad("ts_ms has ", s.ts_ms.size(), " rows, requests ", R);
  if (!s.feedback.empty() && s.feedback.size() != R) {
    return bad("feedback has ", s.feedback.size(), " rows, requests ", R);
  }
  if (!s.behaviour_logprob.empty() && s.behaviour_logprob.size() != R) {
    return bad("behaviour_logprob has ", s.behaviour_logprob.size(), " rows, requests ", R);
  }
  if (s.return_hours.size() != S || s.r_rt.size() != S || s.r_sl.size() != S) {
    return bad("return_hours/r_rt/r_sl need one entry per session (", S, ")");
  }
  if (b.item_index.size() != R) {
    return bad("item_index has ", b.item_index.size(), " rows, requests ", R);
  }
  if (b.session_state_dim <= 0 && S > 0) return bad("session_state_dim is ", b.session_state_dim);
  if (b.session_state.size() != S * static_cast<size_t>(std::max(0, b.session_state_dim))) {
    return bad("session_state has ", b.session_state.size(), " floats, want sessions × ",
               b.session_state_dim, " = ", S * b.session_state_dim);
  }
  for (size_t u = 0; u < U; ++u) {
    if (s.user_offset[u + 1] <= s.user_offset[u]) {
      return bad("user ", s.user[u], " has no sessions");
    }
  }
  for (size_t j = 0; j < S; ++j) {
    if (s.session_offset[j + 1] <= s.session_offset[j]) return bad("session ", j, " is empty");
    if (s.r_rt[j] > 5 || s.r_sl[j] > 5) return bad("session ", j, " has a reward above 5");
    for (uint64_t r = s.session_offset[j] + 1; r < s.session_offset[j + 1]; ++r) {
      if (s.ts_ms[r] < s.ts_ms[r - 1]) {
        return bad("requests of session ", j, " are not in time order (row ", r, ")");
      }
    }
  }
  return absl::OkStatus();
}

// ---- Encoding ----

absl::Status EncodeReplayBatch(const ReplayBatch& batch, bool f16, size_t u_begin, size_t u_end,
                               ReplayRecordSink put) {
  const SessionBatch& sb = *batch.sessions;
  const int dim = batch.session_state_dim;
  std::string key, value;
  ReplayTransitionRecord tr;
  ReplaySessionRecord sr;
  ReplayUserRecord ur;
  for (size_t u = u_begin; u < u_end; ++u) {
    const int64_t user = sb.user[u];
    const uint32_t s_begin = sb.user_offset[u], s_end = sb.user_offset[u + 1];
    const std::string prefix = ReplayUserKey(user);
    double return_sum = 0;
    uint64_t returns = 0;
    for (uint32_t s = s_begin; s < s_end; ++s) {
      const uint64_t r_begin = sb.session_offset[s], r_end = sb.session_offset[s + 1];
      const int64_t start = sb.ts_ms[r_begin];
      const uint32_t session_idx = s - s_begin;
      // Session record.
      key = prefix;
      AppendReplayKeyU32(&key, session_idx);
      sr.start_ts_ms = start;
      sr.length = static_cast<uint32_t>(r_end - r_begin);
      sr.return_hours = sb.return_hours[s];
      sr.r_rt = sb.r_rt[s];
      sr.r_sl = sb.r_sl[s];
      sr.s_h.assign(batch.session_state.begin() + static_cast<size_t>(s) * dim,
                    batch.session_state.begin() + static_cast<size_t>(s + 1) * dim);
      value.clear();
      EncodeSessionValue(sr, f16, &value);
      RETURN_IF_ERROR(put(ReplayTable::kSessions, key, value));
      if (std::isfinite(sr.return_hours)) return_sum += sr.return_hours, ++returns;
      // Transition records.
      const size_t key_len = key.size();
      for (uint64_t r = r_begin; r < r_end; ++r) {
        key.resize(key_len);
        AppendReplayKeyU32(&key, static_cast<uint32_t>(r - r_begin));
        tr.item_index = batch.item_index[r];
        tr.item_id = sb.item[r];
        tr.dt_ms = static_cast<uint64_t>(sb.ts_ms[r] - start);
        tr.last_in_session = r + 1 == r_end;
        tr.done = tr.last_in_session && s + 1 == s_end;
        tr.r_rt = tr.last_in_session ? sb.r_rt[s] : 0;
        tr.r_sl = tr.last_in_session ? sb.r_sl[s] : 0;
        tr.has_feedback = !sb.feedback.empty() && !std::isnan(sb.feedback[r]);
        tr.feedback = tr.has_feedback ? sb.feedback[r] : 0.f;
        tr.has_logprob = !sb.behaviour_logprob.empty() && !std::isnan(sb.behaviour_logprob[r]);
        tr.behaviour_logprob = tr.has_logprob ? sb.behaviour_logprob[r] : 0.f;
        value.clear();
        EncodeTransitionValue(tr, &value);
        RETURN_IF_ERROR(put(ReplayTable::kTransitions, key, value));
      }
    }
    // User record.
    const uint64_t first_r = sb.session_offset[s_begin], end_r = sb.session_offset[s_end];
    ur.is_test = sb.is_test[u] != 0;
    ur.num_sessions = s_end - s_begin;
    ur.num_requests = end_r - first_r;
    ur.first_ts_ms = sb.ts_ms[first_r];
    ur.last_ts_ms = sb.ts_ms[end_r - 1];
    ur.mean_return_hours = returns > 0 ? static_cast<float>(return_sum / returns) : std::nanf("");
    ur.mean_session_length =
        static_cast<float>(static_cast<double>(ur.num_requests) / ur.num_sessions);
    value.clear();
    EncodeUserValue(ur, &value);
    RETURN_IF_ERROR(put(ReplayTable::kUsers, prefix, value));
  }
  return absl::OkStatus();
}

absl::Status ValidateItemTable(const ItemTable& items) {
  if (items.dim <= 0 || items.embedding.size() != items.size() * items.dim) {
    return absl::InvalidArgumentError(absl::StrCat("malformed ItemTable: ", items.size(),
                                                   " items of dim ", items.dim, " but ",
                                                   items.embedding.size(), " embedding floats"));
  }
  return absl::OkStatus();
}

absl::Status EncodeItemTable(const ItemTable& items, ReplayRecordSink put) {
  RETURN_IF_ERROR(ValidateItemTable(items));
  ReplayItemRecord rec;
  std::string value;
  for (size_t i = 0; i < items.size(); ++i) {
    rec.item_id = items.item_id[i];
    rec.embedding.assign(items.row(i), items.row(i) + items.dim);
    value.clear();
    EncodeItemValue(rec, &value);
    RETURN_IF_ERROR(put(ReplayTable::kItems, ReplayItemKey(static_cast<uint32_t>(i)), value));
  }
  return absl::OkStatus();
}

// ---- Counts ----

void AccumulateReplayCounts(const ReplayBatch& b, ReplayMeta* meta,
                            absl::flat_hash_set<int64_t>* seen) {
  const SessionBatch& s = *b.sessions;
  ReplayRewardStats* rw = meta->mutable_reward();
  if (rw->r_rt_hist_size() != 6) {
    rw->clear_r_rt_hist();
    rw->clear_r_sl_hist();
    rw->clear_r_joint_hist();
    for (int k = 0; k < 6; ++k) rw->add_r_rt_hist(0), rw->add_r_sl_hist(0);
    for (int k = 0; k < 36; ++k) rw->add_r_joint_hist(0);
  }
  if (s.reward_stats != nullptr) {
    rw->set_gap_seconds(s.reward_stats->gap_seconds);
    rw->set_return_p75_hours(s.reward_stats->return_p75_hours);
    rw->set_feedback_mean(s.reward_stats->feedback_mean);
    rw->set_feedback_std(s.reward_stats->feedback_std);
  }
  uint64_t fb = 0, lp = 0;
  for (size_t u = 0; u < s.num_users(); ++u) {
    if (seen != nullptr && !seen->insert(s.user[u]).second) continue;
    const bool test = s.is_test[u] != 0;
    const uint32_t s_begin = s.user_offset[u], s_end = s.user_offset[u + 1];
    const uint64_t r_begin = s.session_offset[s_begin], r_end = s.session_offset[s_end];
    const uint64_t sessions = s_end - s_begin, requests = r_end - r_begin;
    meta->set_users(meta->users() + 1);
    meta->set_sessions(meta->sessions() + sessions);
    meta->set_transitions(meta->transitions() + requests);
    if (test) {
      meta->set_test_users(meta->test_users() + 1);
      meta->set_test_sessions(meta->test_sessions() + sessions);
      meta->set_test_transitions(meta->test_transitions() + requests);
      meta->add_test_user(s.user[u]);
    } else {
      meta->set_train_users(meta->train_users() + 1);
      meta->set_train_sessions(meta->train_sessions() + sessions);
      meta->set_train_transitions(meta->train_transitions() + requests);
    }
    for (uint32_t j = s_begin; j < s_end; ++j) {
      const int rt = std::min<int>(s.r_rt[j], 5), sl = std::min<int>(s.r_sl[j], 5);
      rw->set_r_rt_hist(rt, rw->r_rt_hist(rt) + 1);
      rw->set_r_sl_hist(sl, rw->r_sl_hist(sl) + 1);
      rw->set_r_joint_hist(6 * rt + sl, rw->r_joint_hist(6 * rt + sl) + 1);
    }
    for (uint64_t r = r_begin; r < r_end; ++r) {
      const int64_t ts = s.ts_ms[r];
      if (!meta->has_first_request_ms() || ts < meta->first_request_ms()) {
        meta->set_first_request_ms(ts);
      }
      if (!meta->has_last_request_ms() || ts > meta->last_request_ms()) {
        meta->set_last_request_ms(ts);
      }
      if (!s.feedback.empty() && !std::isnan(s.feedback[r])) ++fb;
      if (!s.behaviour_logprob.empty() && !std::isnan(s.behaviour_logprob[r])) ++lp;
    }
  }
  meta->set_requests_with_feedback(meta->requests_with_feedback() + fb);
  meta->set_requests_with_logprob(meta->requests_with_logprob() + lp);
  meta->set_batches(meta->batches() + 1);
}

void FinalizeReplayCounts(ReplayMeta* meta) {
  auto* tu = meta->mutable_test_user();
  std::sort(tu->begin(), tu->end());
  tu->erase(std::unique(tu->begin(), tu->end()), tu->end());
  meta->set_has_feedback(meta->transitions() > 0 &&
                         meta->requests_with_feedback() == meta->transitions());
  meta->set_has_behaviour_logprob(meta->transitions() > 0 &&
                                  meta->requests_with_logprob() == meta->transitions());
}

FeatureLayout ReplayLayoutOf(const ReplayMeta& meta) {
  FeatureLayout layout;
  layout.emb_dim = meta.layout().emb_dim();
  layout.engagement_dim = meta.layout().engagement_dim();
  layout.static_user_dim = meta.layout().static_user_dim();
  return layout;
}

void SetReplayLayout(const FeatureLayout& layout, ReplayMeta* meta) {
  ReplayFeatureLayout* l = meta->mutable_layout();
  l->Clear();
  l->set_emb_dim(layout.emb_dim);
  l->set_static_user_dim(layout.static_user_dim);
  if (layout.engagement_dim > 0) l->set_engagement_dim(layout.engagement_dim);
  l->set_session_dim(layout.session_dim());
  l->set_request_dim(layout.request_dim());
  l->set_state_dim(layout.state_dim());
  l->set_action_dim(layout.action_dim());
  for (const auto& [name, width] : layout.SessionFields()) {
    ReplayFeatureField* f = l->add_session_field();
    f->set_name(name);
    f->set_width(width);
  }
  for (const auto& [name, width] : layout.RequestFields()) {
    ReplayFeatureField* f = l->add_request_field();
    f->set_name(name);
    f->set_width(width);
  }
}

}  // namespace resact
