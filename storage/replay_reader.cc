#include "storage/replay_reader.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "graph/status.h"
#include "storage/replay_batch_format.h"
#include "storage/replay_store.h"
#include "storage/reward_rules.h"

namespace resact {

const char* ReplaySplitName(ReplaySplit split) {
  static constexpr const char* kNames[] = {"train", "test", "all"};
  const int i = static_cast<int>(split);
  return i >= 0 && i < 3 ? kNames[i] : "unknown";
}

namespace {

struct SplitCounts {
  uint64_t users, sessions, transitions;
};

SplitCounts CountsOf(const ReplayMeta& m, ReplaySplit split) {
  switch (split) {
    case ReplaySplit::kTrain:
      return {m.train_users(), m.train_sessions(), m.train_transitions()};
    case ReplaySplit::kTest:
      return {m.test_users(), m.test_sessions(), m.test_transitions()};
    case ReplaySplit::kAll:
      break;
  }
  return {m.users(), m.sessions(), m.transitions()};
}

template <class T>
uint64_t Bytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

std::string MiB(uint64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

}  // namespace

uint64_t ReplayReader::EstimateMemory(const ReplayMeta& meta, const ReplayReaderOptions& options) {
  const SplitCounts c = CountsOf(meta, options.split);
  const uint64_t d = meta.layout().emb_dim();
  const uint64_t sd = meta.layout().session_dim();
  const uint64_t K = options.prefix_sum_stride > 0 ? options.prefix_sum_stride : 0;
  uint64_t per_t = 4 + 4 + 4 + 1;  // item row, session, dt, flags
  if (meta.requests_with_feedback() > 0) per_t += 4;
  if (meta.requests_with_logprob() > 0) per_t += 4;
  const uint64_t per_s = 8 + 4 + 8 + 4 + 2 + 8 + 4 * sd;
  const uint64_t per_u = 8 + 1 + 8;
  const uint64_t ckpt_rows = K > 0 ? c.transitions / K : 0;  // Upper bound.
  // Plus the sentinels of the offset arrays and the zero row.
  return c.transitions * per_t + c.sessions * per_s + c.users * per_u + ckpt_rows * 4 * d +
         meta.items() * (8 + 4 * d) + 4 * d + 16;
}

uint64_t ReplayReader::memory_bytes() const {
  return Bytes(items_.item_id) + Bytes(items_.embedding) + Bytes(zeros_) + Bytes(item_index_) +
         Bytes(session_) + Bytes(dt_ms_) + Bytes(flags_) + Bytes(feedback_) + Bytes(logprob_) +
         Bytes(session_first_) + Bytes(session_user_) + Bytes(session_start_) +
         Bytes(session_return_) + Bytes(session_r_) + Bytes(s_h_) + Bytes(ckpt_offset_) +
         Bytes(ckpt_) + Bytes(user_id_) + Bytes(user_test_) + Bytes(user_session_);
}

absl::Status CheckReplayComplete(const ReplayMeta& meta, const std::string& dir) {
  if (meta.state() == ReplayMeta::COMPLETE) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("replay ", dir, " is incomplete (state ", ReplayMeta::State_Name(meta.state()),
                   ": a run that wrote it did not finish); re-run the pipeline that writes it"));
}

// ---- Load, table by table ----

absl::StatusOr<ReplayMeta> ReplayReader::LoadMeta(const ReplayStore& store,
                                                  const ReplayReaderOptions& options) {
  const std::string& dir = store.dir();
  absl::StatusOr<ReplayMeta> meta_or = store.ReadMeta();
  if (absl::IsNotFound(meta_or.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("replay store ", dir, ": no replay meta; not written by ReplayWriter?"));
  }
  if (!meta_or.ok()) return meta_or.status();
  const ReplayMeta& meta = *meta_or;
  if (!options.allow_incomplete) RETURN_IF_ERROR(CheckReplayComplete(meta, dir));
  if (meta.format_version() != 1) {
    return absl::UnimplementedError(absl::StrCat("replay store ", dir, ": format_version ",
                                                 meta.format_version(), " (this build reads 1)"));
  }
  const ReplayFeatureLayout& ml = meta.layout();
  const FeatureLayout layout = ReplayLayoutOf(meta);
  if (layout.emb_dim <= 0 || layout.session_dim() != ml.session_dim() ||
      layout.state_dim() != ml.state_dim()) {
    return absl::DataLossError(absl::StrCat("replay store ", dir, ": the meta layout (emb_dim ",
                                            ml.emb_dim(), ", session_dim ", ml.session_dim(),
                                            ", state_dim ", ml.state_dim(),
                                            ") does not match storage/feature_layout.h"));
  }
  const uint64_t estimate = EstimateMemory(meta, options);
  const SplitCounts counts = CountsOf(meta, options.split);
  if (estimate > options.memory_budget_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "replay store ", dir, ": loading split '", ReplaySplitName(options.split), "' (",
        counts.transitions, " transitions, ", counts.sessions, " sessions, ", counts.users,
        " users) needs an estimated ", estimate, " bytes (", MiB(estimate),
        "), over the memory budget of ", options.memory_budget_bytes, " bytes (",
        MiB(options.memory_budget_bytes), "); raise the budget or load a smaller split"));
  }
  return meta;
}

absl::StatusOr<ItemTable> ReadReplayItems(const ReplayStore& store, int emb_dim,
                                          uint64_t expected_items) {
  // Items: rows 0..n-1 in key order.
  ItemTable items;
  items.dim = emb_dim;
  items.item_id.reserve(expected_items);
  items.embedding.reserve(expected_items * emb_dim);
  RETURN_IF_ERROR(store.ForEachItem([&](const ReplayItemRecord& it) -> absl::Status {
    if (it.row != items.size() || static_cast<int>(it.embedding.size()) != emb_dim) {
      return absl::DataLossError(absl::StrCat("replay store ", store.dir(), ": item row ", it.row,
                                              " out of order or of the wrong dimension"));
    }
    items.item_id.push_back(it.item_id);
    items.embedding.insert(items.embedding.end(), it.embedding.begin(), it.embedding.end());
    return absl::OkStatus();
  }));
  return items;
}

absl::Status ReplayReader::LoadItems(const ReplayStore& store) {
  ASSIGN_OR_RETURN(items_, ReadReplayItems(store, layout_.emb_dim, meta_.items()));
  return absl::OkStatus();
}

absl::Status ReplayReader::LoadUsers(const ReplayStore& store,
                                     std::vector<uint32_t>* user_sessions) {
  // Users of the split, in key order, with their session counts.
  const SplitCounts counts = CountsOf(meta_, options_.split);
  user_id_.reserve(counts.users);
  user_test_.reserve(counts.users);
  user_sessions->reserve(counts.users);
  return store.ForEachUser([&](const ReplayUserRecord& u) -> absl::Status {
    if (options_.split == ReplaySplit::kTrain && u.is_test) return absl::OkStatus();
    if (options_.split == ReplaySplit::kTest && !u.is_test) return absl::OkStatus();
    user_id_.push_back(u.user);
    user_test_.push_back(u.is_test ? 1 : 0);
    user_sessions->push_back(u.num_sessions);
    return absl::OkStatus();
  });
}

void ReplayReader::ReserveTrajectories() {
  const SplitCounts counts = CountsOf(meta_, options_.split);
  const int K = options_.prefix_sum_stride;
  item_index_.reserve(counts.transitions);
  session_.reserve(counts.transitions);
  dt_ms_.reserve(counts.transitions);
  flags_.reserve(counts.transitions);
  if (meta_.requests_with_feedback() > 0) feedback_.reserve(counts.transitions);
  if (meta_.requests_with_logprob() > 0) logprob_.reserve(counts.transitions);
  session_first_.reserve(counts.sessions + 1);
  session_user_.reserve(counts.sessions);
  session_start_.reserve(counts.sessions);
  session_return_.reserve(counts.sessions);
  session_r_.reserve(2 * counts.sessions);
  s_h_.reserve(counts.sessions * layout_.session_dim());
  ckpt_offset_.reserve(counts.sessions);
  if (K > 0) ckpt_.reserve(counts.transitions / K * layout_.emb_dim);
  user_session_.reserve(user_id_.size() + 1);
}

absl::Status ReplayReader::LoadTrajectories(const ReplayStore& store,
                                            const std::vector<uint32_t>& user_sessions) {
  // The sessions and transitions tables side by side, user by user: each
  // session record, then its transitions in request order.
  const std::string& dir = store.dir();
  const int d = layout_.emb_dim, sd = layout_.session_dim();
  const int K = options_.prefix_sum_stride;
  const int64_t num_items = static_cast<int64_t>(items_.size());
  const bool want_fb = meta_.requests_with_feedback() > 0;
  const bool want_lp = meta_.requests_with_logprob() > 0;
  auto sc = store.NewCursor(ReplayTable::kSessions);
  auto tc = store.NewCursor(ReplayTable::kTransitions);
  sc->SeekToFirst();
  tc->SeekToFirst();
  ReplaySessionRecord srec;
  ReplayTransitionRecord trec;
  std::vector<float> run(d);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto missing = [&](int64_t user, absl::string_view what) {
    RETURN_IF_ERROR(sc->status());
    RETURN_IF_ERROR(tc->status());
    return absl::DataLossError(absl::StrCat("replay store ", dir, ": user ", user, ": ", what));
  };
  // Transition k/i of `user` into trec, or the error that it is missing.
  auto read_transition = [&](int64_t user, uint32_t k, uint32_t i) -> absl::Status {
    if (tc->Valid()) {
      RETURN_IF_ERROR(tc->Get(&trec));
      if (trec.user == user && trec.session == k && trec.request == i) return absl::OkStatus();
    }
    return missing(user, absl::StrCat("transition ", k, "/", i, " is missing"));
  };
  // Daily stores: each user's rewards derived from its sessions
  // (storage/reward_rules.h).
  const bool derive = meta_.reward().rewards_at_read();
  const RewardRule rule = RewardRuleOf(meta_.reward(), meta_.last_request_ms());
  std::vector<int64_t> starts, ends;
  std::vector<uint64_t> lengths;
  std::vector<uint8_t> r_rt, r_sl;
  // A window (min_session_start_ms): the sessions before it are read past,
  // and a user with none in it is dropped (kept_users).
  const int64_t from_ms = options_.min_session_start_ms;
  const bool windowed = from_ms != std::numeric_limits<int64_t>::min();
  std::vector<int64_t> kept_id;
  std::vector<uint8_t> kept_test;
  for (size_t u = 0; u < user_id_.size(); ++u) {
    const int64_t id = user_id_[u];
    const std::string prefix = ReplayUserKey(id);
    starts.clear();
    ends.clear();
    lengths.clear();
    if (!sc->Valid() || sc->key() < absl::string_view(prefix)) sc->Seek(prefix);
    if (!tc->Valid() || tc->key() < absl::string_view(prefix)) tc->Seek(prefix);
    const uint32_t out_u = static_cast<uint32_t>(user_session_.size());
    user_session_.push_back(session_user_.size());
    uint32_t skipped = 0;  // The user's sessions before the window.
    for (uint32_t k = 0; k < user_sessions[u]; ++k) {
      if (!sc->Valid()) return missing(id, absl::StrCat("session ", k, " is missing"));
      RETURN_IF_ERROR(sc->Get(&srec));
      if (srec.user != id || srec.session != k) {
        return missing(id, absl::StrCat("session ", k, " is missing"));
      }
      if (static_cast<int>(srec.s_h.size()) != sd) {
        return missing(id, absl::StrCat("session ", k, " has ", srec.s_h.size(),
                                        " state floats, the layout says ", sd));
      }
      if (windowed && srec.start_ts_ms < from_ms) {
        // Before the window: only its times and length, for the rewards.
        if (skipped != k) {
          return missing(id, absl::StrCat("session ", k, " starts before the window but after ",
                                          "a session in it: sessions out of time order"));
        }
        ++skipped;
        int64_t last_dt = 0;
        for (uint32_t i = 0; i < srec.length; ++i) {
          RETURN_IF_ERROR(read_transition(id, k, i));
          last_dt = static_cast<int64_t>(trec.dt_ms);
          tc->Next();
        }
        starts.push_back(srec.start_ts_ms);
        ends.push_back(srec.start_ts_ms + last_dt);
        lengths.push_back(srec.length);
        sc->Next();
        continue;
      }
      const uint32_t s = static_cast<uint32_t>(session_user_.size());
      session_first_.push_back(item_index_.size());
      session_user_.push_back(out_u);
      session_start_.push_back(srec.start_ts_ms);
      session_return_.push_back(srec.return_hours);
      session_r_.push_back(srec.r_rt);
      session_r_.push_back(srec.r_sl);
      s_h_.insert(s_h_.end(), srec.s_h.begin(), srec.s_h.end());
      ckpt_offset_.push_back(K > 0 ? ckpt_.size() / d : 0);
      std::fill(run.begin(), run.end(), 0.f);
      for (uint32_t i = 0; i < srec.length; ++i) {
        RETURN_IF_ERROR(read_transition(id, k, i));
        if (trec.item_index >= num_items) {
          return missing(id, absl::StrCat("transition ", k, "/", i, " has item row ",
                                          trec.item_index, " of ", num_items));
        }
        if (K > 0 && i > 0 && i % K == 0) ckpt_.insert(ckpt_.end(), run.begin(), run.end());
        if (trec.item_index >= 0) {
          const float* e = items_.row(trec.item_index);
          for (int j = 0; j < d; ++j) run[j] += e[j];
        }
        item_index_.push_back(trec.item_index);
        session_.push_back(s);
        dt_ms_.push_back(static_cast<uint32_t>(
            std::min<uint64_t>(trec.dt_ms, std::numeric_limits<uint32_t>::max())));
        flags_.push_back((trec.done ? kDoneFlag : 0) | (trec.last_in_session ? kLastFlag : 0));
        if (want_fb) feedback_.push_back(trec.has_feedback ? trec.feedback : nan);
        if (want_lp) logprob_.push_back(trec.has_logprob ? trec.behaviour_logprob : nan);
        if (i + 1 == srec.length) {
          ends.push_back(srec.start_ts_ms + static_cast<int64_t>(trec.dt_ms));
        }
        tc->Next();
      }
      starts.push_back(srec.start_ts_ms);
      lengths.push_back(srec.length);
      sc->Next();
    }
    if (derive && !starts.empty()) {
      const size_t n = starts.size();
      r_rt.resize(n);
      r_sl.resize(n);
      SessionRewards(starts.data(), ends.data(), lengths.data(), n, rule, r_rt.data(),
                     r_sl.data());
      const size_t first = session_r_.size() / 2 - (n - skipped);
      for (size_t j = skipped; j < n; ++j) {
        session_r_[2 * (first + j - skipped)] = r_rt[j];
        session_r_[2 * (first + j - skipped) + 1] = r_sl[j];
      }
    }
    if (windowed && user_session_.back() == session_user_.size()) {
      user_session_.pop_back();  // No session in the window.
    } else if (windowed) {
      kept_id.push_back(id);
      kept_test.push_back(user_test_[u]);
    }
  }
  if (windowed) {
    user_id_ = std::move(kept_id);
    user_test_ = std::move(kept_test);
  }
  RETURN_IF_ERROR(sc->status());
  RETURN_IF_ERROR(tc->status());
  session_first_.push_back(item_index_.size());
  user_session_.push_back(session_user_.size());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ReplayReader>> ReplayReader::Load(
    const std::string& dir, const ReplayReaderOptions& options) {
  if (options.prefix_sum_stride < 0) {
    return absl::InvalidArgumentError(absl::StrCat("replay reader: prefix_sum_stride is ",
                                                   options.prefix_sum_stride, ", must be >= 0"));
  }
  ReplayStoreOptions so;
  so.read_only = true;
  ASSIGN_OR_RETURN(std::unique_ptr<ReplayStore> store, ReplayStore::Open(dir, so));
  ASSIGN_OR_RETURN(ReplayMeta meta, LoadMeta(*store, options));

  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<ReplayReader> r(new ReplayReader());
  r->meta_ = meta;
  r->layout_ = ReplayLayoutOf(meta);
  r->options_ = options;
  r->zeros_.assign(r->layout_.emb_dim, 0.f);
  r->feedback_mean_ = static_cast<float>(meta.reward().feedback_mean());
  const double std_dev = meta.reward().feedback_std();
  r->feedback_inv_std_ = std_dev > 0 ? static_cast<float>(1.0 / std_dev) : 1.f;

  RETURN_IF_ERROR(r->LoadItems(*store));
  std::vector<uint32_t> user_sessions;
  RETURN_IF_ERROR(r->LoadUsers(*store, &user_sessions));
  r->ReserveTrajectories();
  RETURN_IF_ERROR(r->LoadTrajectories(*store, user_sessions));
  const SplitCounts counts = CountsOf(meta, options.split);
  const bool windowed = options.min_session_start_ms != std::numeric_limits<int64_t>::min();
  if (!windowed && (r->user_id_.size() != counts.users ||
                    r->session_user_.size() != counts.sessions ||
                    r->item_index_.size() != counts.transitions)) {
    return absl::DataLossError(
        absl::StrCat("replay store ", dir, ": split '", ReplaySplitName(options.split), "' has ",
                     r->user_id_.size(), " users, ", r->session_user_.size(), " sessions, ",
                     r->item_index_.size(), " transitions; the meta says ", counts.users, ", ",
                     counts.sessions, ", ", counts.transitions));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  LOG(INFO) << "replay reader: loaded " << dir << " split " << ReplaySplitName(options.split)
            << ": " << r->num_users() << " users, " << r->num_sessions() << " sessions, "
            << r->num_transitions() << " transitions, " << MiB(r->memory_bytes()) << " in "
            << absl::StrFormat("%.2f", secs) << " s";
  return r;
}

float ReplayReader::feedback(uint64_t t) const {
  return feedback_.empty() ? std::numeric_limits<float>::quiet_NaN() : feedback_[t];
}

float ReplayReader::behaviour_logprob(uint64_t t) const {
  return logprob_.empty() ? std::numeric_limits<float>::quiet_NaN() : logprob_[t];
}

void ReplayReader::SessionItemSum(uint32_t s, uint64_t first, uint64_t p, float* sum) const {
  const int d = layout_.emb_dim;
  const uint64_t K = options_.prefix_sum_stride;
  uint64_t from = 0;
  if (use_prefix_sums_ && K > 0 && p >= K) {
    const uint64_t j = p / K;
    std::memcpy(sum, ckpt_.data() + (ckpt_offset_[s] + j - 1) * d, sizeof(float) * d);
    from = j * K;
  } else {
    std::fill(sum, sum + d, 0.f);
  }
  for (uint64_t q = from; q < p; ++q) {
    const int32_t idx = item_index_[first + q];
    if (idx < 0) continue;
    const float* e = items_.row(idx);
    for (int k = 0; k < d; ++k) sum[k] += e[k];
  }
}

void ReplayReader::FillState(uint64_t t, float* out) const {
  const uint32_t s = session_[t];
  const int sd = layout_.session_dim(), d = layout_.emb_dim;
  std::memcpy(out, session_state(s), sizeof(float) * sd);
  const uint64_t first = session_first_[s], p = t - first;
  float* sl = out + sd;
  const float* prev = nullptr;
  float* sum = nullptr;
  float fb = 0.f;
  if (p > 0) {
    prev = ItemRow(item_index_[t - 1]);
    // The sum is built in the session_mean_item slot of the output;
    // FillRequestFeatures reads sum[k] before writing mean[k] there.
    sum = sl + 2 + d;
    SessionItemSum(s, first, p, sum);
    if (!feedback_.empty() && !std::isnan(feedback_[t - 1])) {
      fb = (feedback_[t - 1] - feedback_mean_) * feedback_inv_std_;
    }
  }
  FillRequestFeatures(layout_, static_cast<int64_t>(p), dt_ms_[t] / 60000.0, prev, sum, fb, sl);
}

void ReplayReader::Assemble(const uint64_t* transitions, int n, float w_rt, float w_sl,
                            ReplaySample* out) const {
  const int S = state_dim(), A = action_dim();
  out->size = n;
  out->state_dim = S;
  out->action_dim = A;
  if (out->transition.data() != transitions) out->transition.assign(transitions, transitions + n);
  out->state.resize(static_cast<size_t>(n) * S);
  out->next_state.resize(static_cast<size_t>(n) * S);
  out->action.resize(static_cast<size_t>(n) * A);
  out->reward.resize(n);
  out->r_rt.resize(n);
  out->r_sl.resize(n);
  out->done.resize(n);
  out->user.resize(n);
  if (has_behaviour_logprob()) {
    out->behaviour_logprob.resize(n);
  } else {
    out->behaviour_logprob.clear();
  }
  for (int i = 0; i < n; ++i) {
    const uint64_t t = transitions[i];
    FillState(t, out->state.data() + static_cast<size_t>(i) * S);
    float* next = out->next_state.data() + static_cast<size_t>(i) * S;
    if (has_next(t)) {
      FillState(t + 1, next);
    } else {
      std::fill(next, next + S, 0.f);
    }
    std::memcpy(out->action.data() + static_cast<size_t>(i) * A, action(t), sizeof(float) * A);
    const float rt = r_rt(t), sl = r_sl(t);
    out->r_rt[i] = rt;
    out->r_sl[i] = sl;
    out->reward[i] = w_rt * rt + w_sl * sl;
    out->done[i] = done(t) ? 1.f : 0.f;
    out->user[i] = user_of(t);
    if (has_behaviour_logprob()) out->behaviour_logprob[i] = logprob_[t];
  }
}

void ReplayReader::Sample(int batch_size, std::mt19937_64& rng, float w_rt, float w_sl,
                          ReplaySample* out) const {
  if (num_transitions() == 0) batch_size = 0;  // An empty replay gives empty batches.
  std::uniform_int_distribution<uint64_t> pick(0, std::max<uint64_t>(num_transitions(), 1) - 1);
  out->transition.resize(batch_size);
  for (int i = 0; i < batch_size; ++i) out->transition[i] = pick(rng);
  Assemble(out->transition.data(), batch_size, w_rt, w_sl, out);
}

absl::StatusOr<std::string> BenchSample(const std::string& dir, int batch, int iters) {
  if (batch <= 0 || iters <= 0) {
    return absl::InvalidArgumentError("BenchSample: batch and iters must be positive");
  }
  ReplayReaderOptions o;
  o.split = ReplaySplit::kAll;
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::unique_ptr<ReplayReader> r, ReplayReader::Load(dir, o));
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r->num_transitions() == 0) {
    return absl::FailedPreconditionError(absl::StrCat("replay store ", dir, " is empty"));
  }
  std::mt19937_64 rng(12345);
  ReplaySample s;
  auto time_us = [&]() {
    for (int i = 0; i < std::min(iters, 10); ++i) r->Sample(batch, rng, 0.5f, 0.5f, &s);
    const auto a = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) r->Sample(batch, rng, 0.5f, 0.5f, &s);
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count() /
           iters;
  };
  r->set_use_prefix_sums(true);
  const double us = time_us();
  r->set_use_prefix_sums(false);
  const double us_loop = time_us();
  uint64_t max_len = 0;
  for (size_t k = 0; k < r->num_sessions(); ++k) {
    max_len = std::max(max_len, r->session_transitions(k).size());
  }
  const double T = static_cast<double>(r->num_transitions());
  // Per-transition bytes, excluding the per-session s_h and the item table.
  const uint64_t session_bytes =
      r->num_sessions() * (sizeof(float) * r->session_dim() + 8 + 4 + 8 + 4 + 2 + 8);
  const uint64_t item_bytes = r->items().size() * (8 + 4 * r->items().dim);
  return absl::StrFormat(
      "{\"bench\":\"replay_sample\",\"dir\":\"%s\",\"transitions\":%d,\"sessions\":%d,"
      "\"users\":%d,\"state_dim\":%d,\"action_dim\":%d,\"batch\":%d,\"iters\":%d,"
      "\"prefix_sum_stride\":16,\"us_per_batch\":%.2f,\"us_per_batch_loop_sum\":%.2f,"
      "\"max_session_length\":%d,\"load_seconds\":%.3f,\"memory_bytes\":%d,"
      "\"memory_bytes_per_transition\":%.2f,\"memory_bytes_per_transition_excl_sessions\":%.2f}",
      dir, r->num_transitions(), r->num_sessions(), r->num_users(), r->state_dim(), r->action_dim(),
      batch, iters, us, us_loop, max_len, load_s, r->memory_bytes(), r->memory_bytes() / T,
      (r->memory_bytes() - session_bytes - item_bytes) / T);
}

}  // namespace resact
