// The day ingestion of DailyIngest (daily_ingest.h): IngestDay and the
// DayIngester that does one day's work in one atomic write.
//
// What the store keeps between days (meta table, "daily/..." keys;
// storage/daily.proto):
//   - the manifest: every ingested day with its rows, time range, content
//     checksum and what ingesting it did (storage/day_manifest.h decides
//     append / no-op / replace / refuse);
//   - the return-time histogram behind δ_75% (stages/reward/return_histogram.h,
//     exact counts over fine bins: within 0.12% of the exact percentile) and
//     the feedback sums;
//   - per user, its tail (UserTail): the index and time range of its last
//     session, which the next day may extend (a session crossing midnight),
//     the session-history builder's state before that session, and the
//     running sums of the user record;
//   - an index of the users whose last session's return is pending, by the
//     session's end, from which the returns older than the censoring horizon
//     are finalized as censored.
//
// Ingesting a user's new requests: its last session's stored requests are
// read back, merged with the new ones in the batch order (time, item, then
// the other columns), cut into sessions at gaps longer than gap_seconds,
// and everything from that session on is rewritten: s_h by the
// session-history builder loaded with the tail, the records as the batch
// writer encodes them. A user whose new requests start before its last
// session (an out-of-order day, or a replaced one) is rebuilt from all its
// stored requests. Keys derive from (user, session, request), so re-writing
// is idempotent.
//
// Rewards are derived when the store is read (ReplayRewardStats
// .rewards_at_read, storage/reward_rules.h): they depend on the user's means
// and δ_75% over everything ingested so far, which change with every day. A
// return is pending until the user's next session arrives (it then counts
// like any other), and censored when the user has not come back within
// reward.censor_after_days of the session's end.
//
// Each day is one atomic write (ReplayStore::Commit): its records, the
// users' tails, the manifest, the statistics and the meta together. A run
// killed during a day leaves the store as it was before that day; re-running
// the same command ingests it then. The item table is the first day's; a
// later day with another table is refused.
//
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "graph/fault.h"
#include "graph/files.h"
#include "graph/hash.h"
#include "graph/status.h"
#include "stages/features/session_history.h"
#include "stages/replay/daily_ingest.h"
#include "stages/reward/return_histogram.h"
#include "stages/reward/reward.h"
#include "stages/sessionize/sessionize.h"
#include "storage/feature_layout.h"
#include "storage/replay_batch_format.h"
#include "storage/replay_format.h"
#include "storage/replay_store.h"

namespace resact {
namespace {

namespace fs = std::filesystem;

constexpr char kStateKey[] = "daily/state";
constexpr char kTailPrefix[] = "daily/tail/";
constexpr char kPendingPrefix[] = "daily/pending/";
constexpr char kDayUsersPrefix[] = "daily/users/";
constexpr double kDefaultCensorDays = 14;

std::string TailKey(int64_t user) { return absl::StrCat(kTailPrefix, ReplayUserKey(user)); }
std::string PendingKey(int64_t end_ms, int64_t user) {
  std::string k = kPendingPrefix;
  AppendReplayKeyI64(&k, end_ms);
  k += ReplayUserKey(user);
  return k;
}
std::string DayUsersKey(int64_t ordinal) {
  std::string k = kDayUsersPrefix;
  AppendReplayKeyI64(&k, ordinal);
  return k;
}
// Past every key that starts with a user's 12-byte key.
std::string UserRangeEnd(int64_t user) { return ReplayUserKey(user) + std::string(9, '\xff'); }

// One request, as the batch path orders them (Sessionize: time, item, then
// feedback and log-probability by value).
struct Row {
  int64_t ts = 0;
  int64_t item = 0;
  float fb = std::numeric_limits<float>::quiet_NaN();
  float lp = std::numeric_limits<float>::quiet_NaN();
};
bool RowLess(const Row& a, const Row& b) {
  if (a.ts != b.ts) return a.ts < b.ts;
  if (a.item != b.item) return a.item < b.item;
  if (int c = CompareRequestFloat(a.fb, b.fb)) return c < 0;
  return CompareRequestFloat(a.lp, b.lp) < 0;
}

// Signed changes of the meta's counts.
struct CountDelta {
  int64_t users = 0, sessions = 0, transitions = 0;
  int64_t test_users = 0, test_sessions = 0, test_transitions = 0;
  int64_t with_feedback = 0, with_logprob = 0;
  void Add(bool is_test, int64_t u, int64_t s, int64_t t) {
    users += u;
    sessions += s;
    transitions += t;
    if (is_test) test_users += u, test_sessions += s, test_transitions += t;
  }
};

uint64_t AddSigned(uint64_t v, int64_t d) {
  return static_cast<uint64_t>(static_cast<int64_t>(v) + d);
}

std::string DescribeDay(const DayRequests& day) {
  if (day.files.empty()) return absl::StrCat("day ", day.name);
  if (day.files.size() == 1) return absl::StrCat("day ", day.name, " (", day.files[0], ")");
  return absl::StrCat("day ", day.name, " (", day.files.size(), " files: ", day.files[0], ", ...)");
}

// Everything one IngestDay needs while it walks the day's users.
class DayIngester {
 public:
  DayIngester(ReplayStore& store, const DailyIngestOptions& options, const ItemTable& items,
              const UserFeatureTable* profiles, const DayRequests& day)
      : store_(store), options_(options), items_(items), profiles_(profiles), day_(day) {}

  absl::StatusOr<DayIngestResult> Run();

 private:
  absl::Status LoadOrCreate();
  absl::Status CheckItems();
  // The stored requests of `user` from session `from` on, in order; the
  // sessions' start and end times (for the returns a rebuild removes).
  absl::Status ReadStoredRows(int64_t user, uint32_t from, std::vector<Row>* rows,
                              std::vector<int64_t>* starts, std::vector<int64_t>* ends);
  absl::Status IngestUser(int64_t user, std::vector<Row> fresh, bool in_replaced_day);
  absl::Status CensorPastHorizon();
  void UpdateMeta();

  ReplayStore& store_;
  const DailyIngestOptions& options_;
  const ItemTable& items_;
  const UserFeatureTable* profiles_;
  const DayRequests& day_;

  bool new_store_ = false;
  ReplayMeta meta_;
  DailyState state_;
  ReturnHistogram hist_;
  FeatureLayout layout_;
  SessionStateParams params_;
  RewardOptions reward_;
  double censor_hours_ = 0;
  int64_t reference_ms_ = 0;  // The newest request of the store after this day.
  bool has_feedback_ = false, has_logprob_ = false;
  bool float16_ = true;
  absl::flat_hash_map<int64_t, int32_t> item_row_;
  DayRecord record_;
  const DayRecord* old_day_ = nullptr;  // The stored record when replacing.
  std::unique_ptr<ReplayStore::WriteSet> writes_;
  std::unique_ptr<ReplayStore::Cursor> sessions_, transitions_;
  CountDelta delta_;
  std::vector<int64_t> new_test_users_;
  absl::flat_hash_set<int64_t> removed_test_users_;
  // Pending-index entries of the users rewritten today (deleted), for the
  // censoring sweep.
  absl::flat_hash_set<std::string> dropped_pending_;
  uint64_t completed_ = 0, rebuilt_ = 0;
  // Feedback sums of the requests added and removed today.
  double fb_sum_ = 0, fb_sq_ = 0;
  int64_t fb_n_ = 0;
};

absl::Status DayIngester::LoadOrCreate() {
  absl::StatusOr<DailyState> st = ReadDailyState(store_);
  if (st.ok()) {
    state_ = *std::move(st);
    ASSIGN_OR_RETURN(meta_, store_.ReadMeta());
    ASSIGN_OR_RETURN(hist_, ReturnHistogram::Decode(state_.return_histogram()));
  } else if (absl::IsNotFound(st.status())) {
    if (store_.ReadMeta().ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "replay store ", store_.dir(),
          " was written by a batch run (ReplayWriter), not by DailyIngest; daily ingestion "
          "needs a store of its own: set the stage's `dir` to another folder"));
    }
    new_store_ = true;
  } else {
    return st.status();
  }

  // What this run asks for.
  layout_.emb_dim = items_.dim;
  const StateFeaturesOptions& f = options_.features();
  if (f.user_features()) {
    if (profiles_ == nullptr) {
      return absl::FailedPreconditionError(
          "features.user_features is true but no user feature table arrived on input 2");
    }
    layout_.static_user_dim = profiles_->dim;
  }
  if (f.engagement_features()) layout_.engagement_dim = FeatureLayout::kEngagementDim;
  params_.user_ema_alpha = f.user_ema_alpha();
  params_.engagement = f.engagement_features();
  params_.engagement_session_alpha = f.engagement_session_alpha();
  params_.engagement_feedback_alpha = f.engagement_feedback_alpha();
  reward_ = options_.reward();
  censor_hours_ =
      (reward_.has_censor_after_days() ? reward_.censor_after_days() : kDefaultCensorDays) * 24.0;

  if (new_store_) {
    state_.set_gap_seconds(options_.gap_seconds());
    state_.set_test_fraction(options_.test_fraction());
    state_.set_split_seed(options_.split_seed());
    state_.set_return_percentile(reward_.return_percentile());
    state_.set_has_feedback(!day_.feedback.empty());
    state_.set_has_logprob(!day_.logprob.empty());
    float16_ = options_.session_state_float16();
    has_feedback_ = state_.has_feedback();
    has_logprob_ = state_.has_logprob();
    return absl::OkStatus();
  }
  // A later day: the store's settings must not change.
  auto refuse = [&](absl::string_view what, auto stored, auto asked) {
    return absl::FailedPreconditionError(absl::StrCat(
        "daily store ", store_.dir(), " was built with ", what, " ", stored, "; this run asks for ",
        asked, ". A store keeps one setting for all its days: use another `dir` for the new one"));
  };
  if (state_.gap_seconds() != options_.gap_seconds()) {
    return refuse("gap_seconds", state_.gap_seconds(), options_.gap_seconds());
  }
  if (state_.test_fraction() != options_.test_fraction()) {
    return refuse("test_fraction", state_.test_fraction(), options_.test_fraction());
  }
  if (state_.split_seed() != options_.split_seed()) {
    return refuse("split_seed", state_.split_seed(), options_.split_seed());
  }
  if (state_.return_percentile() != reward_.return_percentile()) {
    return refuse("reward.return_percentile", state_.return_percentile(),
                  reward_.return_percentile());
  }
  const FeatureLayout stored = ReplayLayoutOf(meta_);
  if (stored.emb_dim != layout_.emb_dim || stored.static_user_dim != layout_.static_user_dim ||
      stored.engagement_dim != layout_.engagement_dim) {
    return refuse("the state layout (emb_dim, static_user_dim, engagement_dim)",
                  absl::StrCat(stored.emb_dim, ", ", stored.static_user_dim, ", ",
                               stored.engagement_dim),
                  absl::StrCat(layout_.emb_dim, ", ", layout_.static_user_dim, ", ",
                               layout_.engagement_dim));
  }
  const SessionStateParams sp = SessionStateParamsOf(meta_, store_.dir());
  if (sp.user_ema_alpha != params_.user_ema_alpha || sp.engagement != params_.engagement ||
      (sp.engagement && (sp.engagement_session_alpha != params_.engagement_session_alpha ||
                         sp.engagement_feedback_alpha != params_.engagement_feedback_alpha))) {
    return refuse("other s_h parameters (features.*)", "", "different ones");
  }
  if (!day_.feedback.empty() != state_.has_feedback()) {
    return refuse("a feedback column", state_.has_feedback() ? "present" : "absent",
                  day_.feedback.empty() ? "none" : "one");
  }
  if (!day_.logprob.empty() != state_.has_logprob()) {
    return refuse("a behaviour log-probability column", state_.has_logprob() ? "present" : "absent",
                  day_.logprob.empty() ? "none" : "one");
  }
  float16_ = meta_.session_state_encoding() == ReplayMeta::FLOAT16;
  has_feedback_ = state_.has_feedback();
  has_logprob_ = state_.has_logprob();
  return absl::OkStatus();
}

absl::Status DayIngester::CheckItems() {
  RETURN_IF_ERROR(ValidateItemTable(items_));
  item_row_.reserve(items_.size());
  for (size_t i = 0; i < items_.size(); ++i) {
    item_row_[items_.item_id[i]] = static_cast<int32_t>(i);
  }
  if (new_store_) {
    return EncodeItemTable(items_, [&](ReplayTable t, const std::string& key,
                                       const std::string& value) {
      writes_->Put(t, key, value);
      return absl::OkStatus();
    });
  }
  size_t n = 0;
  bool same = true;
  RETURN_IF_ERROR(store_.ForEachItem([&](const ReplayItemRecord& r) {
    if (r.row >= items_.size() || items_.item_id[r.row] != r.item_id ||
        r.embedding.size() != static_cast<size_t>(items_.dim) ||
        !std::equal(r.embedding.begin(), r.embedding.end(), items_.row(r.row))) {
      same = false;
    }
    ++n;
    return absl::OkStatus();
  }));
  if (!same || n != items_.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the item table of this run (input 1: ", items_.size(),
        " items) differs from the one daily store ", store_.dir(), " was built with (", n,
        " items): a daily store keeps its first day's action space; build a new store (another "
        "`dir`) for a new item table"));
  }
  return absl::OkStatus();
}

absl::Status DayIngester::ReadStoredRows(int64_t user, uint32_t from, std::vector<Row>* rows,
                                         std::vector<int64_t>* starts,
                                         std::vector<int64_t>* ends) {
  const std::string prefix = ReplayUserKey(user);
  sessions_->Seek(ReplaySessionKey(user, from));
  transitions_->Seek(ReplayTransitionKey(user, from, 0));
  ReplaySessionRecord s;
  ReplayTransitionRecord t;
  auto lost = [&](absl::string_view what) {
    RETURN_IF_ERROR(sessions_->status());
    RETURN_IF_ERROR(transitions_->status());
    return absl::DataLossError(
        absl::StrCat("daily store ", store_.dir(), ": user ", user, ": ", what));
  };
  for (uint32_t k = from; sessions_->Valid() && sessions_->key().substr(0, 12) == prefix;
       ++k, sessions_->Next()) {
    RETURN_IF_ERROR(sessions_->Get(&s));
    if (s.session != k) return lost(absl::StrCat("session ", k, " is missing"));
    starts->push_back(s.start_ts_ms);
    for (uint32_t i = 0; i < s.length; ++i, transitions_->Next()) {
      if (!transitions_->Valid()) {
        return lost(absl::StrCat("transition ", k, "/", i, " is missing"));
      }
      RETURN_IF_ERROR(transitions_->Get(&t));
      if (t.user != user || t.session != k || t.request != i) {
        return lost(absl::StrCat("transition ", k, "/", i, " is missing"));
      }
      Row r;
      r.ts = s.start_ts_ms + static_cast<int64_t>(t.dt_ms);
      r.item = t.item_index >= 0 ? items_.item_id[t.item_index] : t.item_id;
      if (t.has_feedback) r.fb = t.feedback;
      if (t.has_logprob) r.lp = t.behaviour_logprob;
      rows->push_back(r);
    }
    ends->push_back(rows->back().ts);
  }
  return sessions_->status();
}

absl::Status DayIngester::IngestUser(int64_t user, std::vector<Row> fresh, bool in_replaced_day) {
  const bool is_test = IsTestUser(user, state_.test_fraction(), state_.split_seed());
  UserTail tail;
  bool has_tail = false;
  {
    absl::StatusOr<std::string> v = store_.GetRaw(ReplayTable::kMeta, TailKey(user));
    if (v.ok()) {
      if (!tail.ParseFromString(*v)) {
        return absl::DataLossError(absl::StrCat("daily store ", store_.dir(), ": the tail of user ",
                                                user, " does not parse"));
      }
      has_tail = true;
    } else if (!absl::IsNotFound(v.status())) {
      return v.status();
    }
  }
  ReplayUserRecord old_user;
  if (has_tail) {
    ASSIGN_OR_RETURN(old_user, store_.GetUser(user));
    // The old last session leaves the pending index (or the censored count).
    if (tail.censored()) {
      state_.set_censored(state_.censored() - 1);
    } else {
      const std::string key = PendingKey(tail.open_end_ms(), user);
      writes_->Delete(ReplayTable::kMeta, key);
      dropped_pending_.insert(key);
    }
  }
  const bool rebuild =
      has_tail && (in_replaced_day || (!fresh.empty() && fresh.front().ts < tail.open_start_ms()));

  const float* profile = nullptr;
  if (layout_.static_user_dim > 0) {
    profile = profiles_->Find(user);
    if (profile == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          DescribeDay(day_), ": user ", user, " has no row in the user feature table (input 2, ",
          profiles_->size(), " users)"));
    }
  }
  SessionHistoryBuilder history(layout_, params_);
  std::vector<Row> rows;
  uint32_t k = 0;  // Index of the first session written.
  double return_sum = 0;
  uint64_t returns = 0, requests_before = 0;
  int64_t first_ts = 0, prev_end = 0;
  bool has_prev = false;
  int64_t old_sessions = 0, old_requests = 0, old_fb = 0, old_lp = 0;
  if (has_tail && !rebuild) {
    k = tail.open_session();
    RETURN_IF_ERROR(history.LoadState(tail.history()));
    return_sum = tail.return_sum();
    returns = tail.returns();
    requests_before = tail.requests_before();
    first_ts = tail.first_ts_ms();
    has_prev = k > 0;
    prev_end = tail.prev_end_ms();
    std::vector<int64_t> starts, ends;
    RETURN_IF_ERROR(ReadStoredRows(user, k, &rows, &starts, &ends));
    old_sessions = static_cast<int64_t>(old_user.num_sessions) - k;
    old_requests = static_cast<int64_t>(rows.size());
  } else {
    history.StartUser(profile);
    if (rebuild) {
      ++rebuilt_;
      std::vector<int64_t> starts, ends;
      RETURN_IF_ERROR(ReadStoredRows(user, 0, &rows, &starts, &ends));
      for (size_t s = 0; s + 1 < starts.size(); ++s) {
        hist_.Remove((starts[s + 1] - ends[s]) / 3.6e6);
      }
      old_sessions = old_user.num_sessions;
      old_requests = static_cast<int64_t>(rows.size());
      writes_->DeleteRange(ReplayTable::kSessions, ReplayUserKey(user), UserRangeEnd(user));
      writes_->DeleteRange(ReplayTable::kTransitions, ReplayUserKey(user), UserRangeEnd(user));
    }
  }
  for (const Row& r : rows) old_fb += !std::isnan(r.fb), old_lp += !std::isnan(r.lp);
  if (in_replaced_day && old_day_ != nullptr) {
    // The replaced day's requests go; its feedback leaves the sums.
    auto gone = [&](const Row& r) {
      return r.ts >= old_day_->first_ms() && r.ts <= old_day_->last_ms();
    };
    for (const Row& r : rows) {
      if (!gone(r) || !has_feedback_) continue;
      fb_sum_ -= r.fb;
      fb_sq_ -= static_cast<double>(r.fb) * r.fb;
      --fb_n_;
    }
    rows.erase(std::remove_if(rows.begin(), rows.end(), gone), rows.end());
  }
  const size_t stored = rows.size();
  rows.insert(rows.end(), fresh.begin(), fresh.end());
  std::inplace_merge(rows.begin(), rows.begin() + stored, rows.end(), RowLess);

  if (rows.empty()) {
    // Every request of the user was in the replaced day: the user goes.
    writes_->Delete(ReplayTable::kUsers, ReplayUserKey(user));
    writes_->Delete(ReplayTable::kMeta, TailKey(user));
    delta_.Add(is_test, -1, -old_sessions, -old_requests);
    delta_.with_feedback -= old_fb;
    delta_.with_logprob -= old_lp;
    if (is_test) removed_test_users_.insert(user);
    return absl::OkStatus();
  }
  if (!has_tail || rebuild) first_ts = rows.front().ts;
  const bool had_open = has_tail && !rebuild;

  // Sessions: cut at gaps longer than gap_seconds, as Sessionize does.
  const int64_t gap_ms = static_cast<int64_t>(options_.gap_seconds() * 1000.0);
  std::vector<size_t> begin = {0};
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].ts - rows[r - 1].ts > gap_ms) begin.push_back(r);
  }
  begin.push_back(rows.size());
  const size_t n_sessions = begin.size() - 1;
  // The open session got its next session: its pending return is complete.
  if (had_open && n_sessions > 1) ++completed_;
  const int sd = layout_.session_dim();
  ReplaySessionRecord sr;
  ReplayTransitionRecord tr;
  std::string key, value;
  UserTail next;
  next.set_first_ts_ms(first_ts);
  int64_t new_fb = 0, new_lp = 0;
  for (size_t j = 0; j < n_sessions; ++j) {
    const uint32_t idx = k + static_cast<uint32_t>(j);
    const size_t rb = begin[j], re = begin[j + 1];
    const int64_t start = rows[rb].ts, end = rows[re - 1].ts;
    const bool last = j + 1 == n_sessions;
    if (last) {
      next.set_open_session(idx);
      next.set_open_start_ms(start);
      next.set_open_end_ms(end);
      if (has_prev) next.set_prev_end_ms(prev_end);
      next.set_history(history.SaveState());
      next.set_return_sum(return_sum);
      next.set_returns(returns);
      next.set_requests_before(requests_before);
    }
    sr.s_h.assign(sd, 0.f);
    history.BeginSession(start, has_prev ? ReturnHoursBetween(prev_end, start) : 0.f,
                         sr.s_h.data());
    key = ReplaySessionKey(user, idx);
    const size_t key_len = key.size();
    for (size_t r = rb; r < re; ++r) {
      auto it = item_row_.find(rows[r].item);
      if (it == item_row_.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(DescribeDay(day_), ": user ", user, " has a request for item ",
                         rows[r].item, ", which is not in the item table (input 1, ",
                         items_.size(), " items)"));
      }
      history.AddItem(items_.row(it->second), has_feedback_ ? &rows[r].fb : nullptr);
      key.resize(key_len);
      AppendReplayKeyU32(&key, static_cast<uint32_t>(r - rb));
      tr.item_index = it->second;
      tr.item_id = rows[r].item;
      tr.dt_ms = static_cast<uint64_t>(rows[r].ts - start);
      tr.last_in_session = r + 1 == re;
      tr.done = tr.last_in_session && last;
      tr.r_rt = tr.r_sl = 0;  // Derived when the store is read.
      tr.has_feedback = !std::isnan(rows[r].fb);
      tr.feedback = tr.has_feedback ? rows[r].fb : 0.f;
      tr.has_logprob = !std::isnan(rows[r].lp);
      tr.behaviour_logprob = tr.has_logprob ? rows[r].lp : 0.f;
      new_fb += tr.has_feedback;
      new_lp += tr.has_logprob;
      value.clear();
      EncodeTransitionValue(tr, &value);
      writes_->Put(ReplayTable::kTransitions, key, value);
    }
    history.EndSession(re - rb);
    key.resize(key_len);
    sr.start_ts_ms = start;
    sr.length = static_cast<uint32_t>(re - rb);
    sr.return_hours = last ? std::numeric_limits<float>::quiet_NaN()
                           : ReturnHoursBetween(end, rows[re].ts);
    sr.r_rt = sr.r_sl = 0;
    value.clear();
    EncodeSessionValue(sr, float16_, &value);
    writes_->Put(ReplayTable::kSessions, key, value);
    if (!last) {
      return_sum += sr.return_hours;
      ++returns;
      hist_.Add((rows[re].ts - end) / 3.6e6);
    }
    requests_before += re - rb;
    prev_end = end;
    has_prev = true;
  }

  // The user record, as the batch writer encodes it.
  ReplayUserRecord ur;
  ur.is_test = is_test;
  ur.num_sessions = k + static_cast<uint32_t>(n_sessions);
  ur.num_requests = requests_before;
  ur.first_ts_ms = first_ts;
  ur.last_ts_ms = rows.back().ts;
  ur.mean_return_hours = returns > 0 ? static_cast<float>(return_sum / returns) : std::nanf("");
  ur.mean_session_length =
      static_cast<float>(static_cast<double>(ur.num_requests) / ur.num_sessions);
  value.clear();
  EncodeUserValue(ur, &value);
  writes_->Put(ReplayTable::kUsers, ReplayUserKey(user), value);

  // The tail, and the pending index (or the censored count).
  const bool censored =
      censor_hours_ > 0 && (reference_ms_ - next.open_end_ms()) / 3.6e6 > censor_hours_;
  next.set_censored(censored);
  if (censored) {
    state_.set_censored(state_.censored() + 1);
  } else {
    writes_->Put(ReplayTable::kMeta, PendingKey(next.open_end_ms(), user), "");
  }
  writes_->Put(ReplayTable::kMeta, TailKey(user), next.SerializeAsString());

  delta_.Add(is_test, has_tail ? 0 : 1, static_cast<int64_t>(n_sessions) - old_sessions,
             static_cast<int64_t>(rows.size()) - old_requests);
  delta_.with_feedback += new_fb - old_fb;
  delta_.with_logprob += new_lp - old_lp;
  if (is_test && !has_tail) new_test_users_.push_back(user);
  return absl::OkStatus();
}

absl::Status DayIngester::CensorPastHorizon() {
  if (censor_hours_ <= 0) return absl::OkStatus();
  const absl::string_view prefix(kPendingPrefix);
  auto c = store_.NewCursor(ReplayTable::kMeta, /*short_scans=*/true);
  for (c->Seek(prefix); c->Valid(); c->Next()) {
    const absl::string_view key = c->key();
    if (key.substr(0, prefix.size()) != prefix) break;
    ReplayKey k;
    if (key.size() != prefix.size() + 8 + 12 ||
        !ParseReplayKey(key.substr(prefix.size() + 8), &k)) {
      return absl::DataLossError(
          absl::StrCat("daily store ", store_.dir(), ": malformed pending-return key"));
    }
    const int64_t end = ReadReplayKeyI64(key.data() + prefix.size());
    if (!((reference_ms_ - end) / 3.6e6 > censor_hours_)) break;  // In end order.
    const std::string owned(key);
    if (dropped_pending_.contains(owned)) continue;
    ASSIGN_OR_RETURN(std::string v, store_.GetRaw(ReplayTable::kMeta, TailKey(k.user)));
    UserTail tail;
    if (!tail.ParseFromString(v)) {
      return absl::DataLossError(absl::StrCat("daily store ", store_.dir(), ": the tail of user ",
                                              k.user, " does not parse"));
    }
    tail.set_censored(true);
    writes_->Put(ReplayTable::kMeta, TailKey(k.user), tail.SerializeAsString());
    writes_->Delete(ReplayTable::kMeta, owned);
    state_.set_censored(state_.censored() + 1);
  }
  return c->status();
}

void DayIngester::UpdateMeta() {
  ReplayMeta& m = meta_;
  if (new_store_) {
    SetReplayLayout(layout_, &m);
    SetSessionStateParams(params_, &m);
    m.set_session_state_encoding(float16_ ? ReplayMeta::FLOAT16 : ReplayMeta::FLOAT32);
  }
  m.set_state(ReplayMeta::COMPLETE);
  const CountDelta& d = delta_;
  m.set_test_users(AddSigned(m.test_users(), d.test_users));
  m.set_train_users(AddSigned(m.train_users(), d.users - d.test_users));
  m.set_users(m.train_users() + m.test_users());
  m.set_test_sessions(AddSigned(m.test_sessions(), d.test_sessions));
  m.set_train_sessions(AddSigned(m.train_sessions(), d.sessions - d.test_sessions));
  m.set_sessions(m.train_sessions() + m.test_sessions());
  m.set_test_transitions(AddSigned(m.test_transitions(), d.test_transitions));
  m.set_train_transitions(AddSigned(m.train_transitions(), d.transitions - d.test_transitions));
  m.set_transitions(m.train_transitions() + m.test_transitions());
  m.set_requests_with_feedback(AddSigned(m.requests_with_feedback(), d.with_feedback));
  m.set_requests_with_logprob(AddSigned(m.requests_with_logprob(), d.with_logprob));
  m.set_items(items_.size());
  if (!removed_test_users_.empty()) {
    auto* tu = m.mutable_test_user();
    tu->erase(std::remove_if(tu->begin(), tu->end(),
                             [&](int64_t u) { return removed_test_users_.contains(u); }),
              tu->end());
  }
  for (int64_t u : new_test_users_) m.add_test_user(u);
  FinalizeReplayCounts(&m);

  state_.set_feedback_sum(state_.feedback_sum() + fb_sum_);
  state_.set_feedback_sq(state_.feedback_sq() + fb_sq_);
  state_.set_feedback_n(AddSigned(state_.feedback_n(), fb_n_));
  ReplayRewardStats* r = m.mutable_reward();
  r->set_gap_seconds(options_.gap_seconds());
  r->set_return_p75_hours(hist_.Percentile(reward_.return_percentile()));
  if (state_.feedback_n() > 0) {
    const double mean = state_.feedback_sum() / state_.feedback_n();
    const double var = std::max(0.0, state_.feedback_sq() / state_.feedback_n() - mean * mean);
    r->set_feedback_mean(mean);
    r->set_feedback_std(var > 0 ? std::sqrt(var) : 1.0);
  }
  r->clear_r_rt_hist();
  r->clear_r_sl_hist();
  r->clear_r_joint_hist();
  r->set_rewards_at_read(true);
  r->set_session_length_scale(reward_.session_length_scale());
  r->set_max_reward(reward_.max_reward());
  r->set_censor_after_hours(censor_hours_);
  r->set_censored_value(static_cast<int>(reward_.censored_value()));

  if (record_.rows() > 0) {
    m.set_first_request_ms(m.has_first_request_ms()
                               ? std::min(m.first_request_ms(), record_.first_ms())
                               : record_.first_ms());
  }
  m.set_last_request_ms(reference_ms_);
  const DayManifest& manifest = state_.manifest();
  m.set_batches(manifest.day_size());
  std::string fp;
  for (const DayRecord& d : manifest.day()) absl::StrAppend(&fp, d.name(), ":", d.checksum(), ";");
  m.set_source_fingerprint(absl::StrFormat("daily-%016x", Checksum64(fp)));
  m.set_source_description(
      manifest.day_size() == 0
          ? std::string("daily: no days")
          : absl::StrCat("daily: ", manifest.day_size(), " days (", manifest.day(0).name(), " .. ",
                         manifest.day(manifest.day_size() - 1).name(), ")"));
}

absl::StatusOr<DayIngestResult> DayIngester::Run() {
  const auto t0 = std::chrono::steady_clock::now();
  const size_t n = day_.size();
  if (day_.item.size() != n || day_.ts_ms.size() != n ||
      (!day_.feedback.empty() && day_.feedback.size() != n) ||
      (!day_.logprob.empty() && day_.logprob.size() != n)) {
    return absl::InvalidArgumentError(
        absl::StrCat(DescribeDay(day_), ": its columns have different lengths"));
  }
  RETURN_IF_ERROR(LoadOrCreate());
  ASSIGN_OR_RETURN(const int64_t ordinal, DayOrdinal(day_.name));
  record_.set_name(day_.name);
  record_.set_ordinal(ordinal);
  record_.set_rows(n);
  record_.set_checksum(DayContentChecksum(day_));
  record_.set_ingested_unix_seconds(absl::ToUnixSeconds(absl::Now()));
  if (n > 0) {
    const auto [lo, hi] = std::minmax_element(day_.ts_ms.begin(), day_.ts_ms.end());
    record_.set_first_ms(*lo);
    record_.set_last_ms(*hi);
  }
  DayDecisionOptions decide;
  decide.window_days = options_.window_days();
  decide.reingest = options_.reingest();
  ASSIGN_OR_RETURN(const DayAction action, DecideDay(state_.manifest(), record_, decide));
  DayIngestResult result;
  result.action = action;
  for (const DayRecord& d : state_.manifest().day()) {
    if (d.ordinal() == ordinal) old_day_ = &d;
  }
  if (action == DayAction::kNoOp) {
    result.record = *old_day_;
    return result;
  }
  for (const DayRecord& d : state_.manifest().day()) {
    if (d.ordinal() == ordinal || d.rows() == 0 || n == 0) continue;
    if (record_.first_ms() <= d.last_ms() && d.first_ms() <= record_.last_ms()) {
      return absl::InvalidArgumentError(absl::StrCat(
          DescribeDay(day_), ": its requests (", record_.first_ms(), " .. ", record_.last_ms(),
          " ms) overlap those of stored day ", d.name(), " (", d.first_ms(), " .. ", d.last_ms(),
          " ms); day partitions must be disjoint time ranges"));
    }
  }
  writes_ = store_.NewWriteSet();
  RETURN_IF_ERROR(CheckItems());
  reference_ms_ = meta_.has_last_request_ms() ? meta_.last_request_ms()
                                              : std::numeric_limits<int64_t>::min();
  if (n > 0) reference_ms_ = std::max(reference_ms_, record_.last_ms());

  // The day's rows by user, in key order (user hash, user), then in the
  // batch order of requests.
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  auto row_of = [&](uint32_t i) {
    Row r;
    r.ts = day_.ts_ms[i];
    r.item = day_.item[i];
    if (!day_.feedback.empty()) r.fb = day_.feedback[i];
    if (!day_.logprob.empty()) r.lp = day_.logprob[i];
    return r;
  };
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const int64_t ua = day_.user[a], ub = day_.user[b];
    if (ua != ub) return UserKeyLess(ua, ub);
    return RowLess(row_of(a), row_of(b));
  });
  std::vector<int64_t> day_users;
  for (size_t i = 0; i < n; ++i) {
    if (i == 0 || day_.user[order[i]] != day_.user[order[i - 1]]) {
      day_users.push_back(day_.user[order[i]]);
    }
  }
  record_.set_users(day_users.size());

  // With a replaced day, its old users too (some may be gone from it).
  absl::flat_hash_set<int64_t> old_users;
  if (action == DayAction::kReplace) {
    absl::StatusOr<std::string> v = store_.GetRaw(ReplayTable::kMeta, DayUsersKey(ordinal));
    if (!v.ok() && !absl::IsNotFound(v.status())) return v.status();
    absl::string_view in = v.ok() ? absl::string_view(*v) : absl::string_view();
    uint64_t u;
    while (!in.empty()) {
      if (!ConsumeVarint(&in, &u)) {
        return absl::DataLossError(absl::StrCat("daily store ", store_.dir(), ": the user list of ",
                                                old_day_->name(), " is damaged"));
      }
      old_users.insert(UnZigZag(u));
    }
  }
  std::vector<int64_t> users = day_users;
  for (int64_t u : old_users) {
    if (!std::binary_search(day_users.begin(), day_users.end(), u, UserKeyLess)) {
      users.push_back(u);
    }
  }
  std::sort(users.begin(), users.end(), UserKeyLess);

  sessions_ = store_.NewCursor(ReplayTable::kSessions, /*short_scans=*/true);
  transitions_ = store_.NewCursor(ReplayTable::kTransitions, /*short_scans=*/true);
  size_t i = 0;
  std::vector<Row> fresh;
  for (int64_t user : users) {
    fresh.clear();
    while (i < n && day_.user[order[i]] == user) {
      fresh.push_back(row_of(order[i++]));
      const Row& r = fresh.back();
      if (has_feedback_) fb_sum_ += r.fb, fb_sq_ += static_cast<double>(r.fb) * r.fb, ++fb_n_;
    }
    RETURN_IF_ERROR(IngestUser(user, fresh, old_users.contains(user)));
  }
  sessions_.reset();
  transitions_.reset();
  RETURN_IF_ERROR(CensorPastHorizon());

  record_.set_new_sessions(delta_.sessions);
  record_.set_completed_returns(completed_);
  record_.set_rebuilt_users(rebuilt_);
  // The manifest first: the meta's source fields are made from it.
  *state_.mutable_manifest() = WithDay(state_.manifest(), record_);
  UpdateMeta();
  record_.set_pending_returns(meta_.users() - state_.censored());
  record_.set_censored_returns(state_.censored());
  for (DayRecord& d : *state_.mutable_manifest()->mutable_day()) {
    if (d.ordinal() == ordinal) {
      d.set_pending_returns(record_.pending_returns());
      d.set_censored_returns(record_.censored_returns());
      record_ = d;
    }
  }
  state_.set_return_histogram(hist_.Encode());

  std::string list;
  for (int64_t u : day_users) {
    AppendVarint(&list, ZigZag(u));
  }
  writes_->Put(ReplayTable::kMeta, DayUsersKey(ordinal), list);
  writes_->Put(ReplayTable::kMeta, kStateKey, state_.SerializeAsString());
  writes_->Put(ReplayTable::kMeta, kReplayMetaKey, meta_.SerializeAsString());
  FaultPoint("daily.ingest");
  RETURN_IF_ERROR(store_.Commit(*writes_, options_.sync()));
  FaultPoint("daily.ingested");
  result.record = record_;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace

uint64_t DayContentChecksum(const DayRequests& day) {
  uint64_t sum = Mix64(day.size());
  auto bits = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return static_cast<uint64_t>(u);
  };
  for (size_t i = 0; i < day.size(); ++i) {
    uint64_t h = Mix64(static_cast<uint64_t>(day.user[i]));
    h = Mix64(h ^ static_cast<uint64_t>(day.item[i]));
    h = Mix64(h ^ static_cast<uint64_t>(day.ts_ms[i]));
    if (!day.feedback.empty()) h = Mix64(h ^ bits(day.feedback[i]));
    if (!day.logprob.empty()) h = Mix64(h ^ (bits(day.logprob[i]) << 1));
    sum += h;
  }
  return sum;
}

absl::StatusOr<std::string> DayOfFile(const std::string& path) {
  const fs::path p(path);
  std::string name = p.filename().string();
  for (const char* ext : {".csv", ".tsv", ".log", ".txt", ".dat"}) {
    if (name.size() > std::strlen(ext) && absl::EndsWith(name, ext)) {
      name.resize(name.size() - std::strlen(ext));
      break;
    }
  }
  if (DayOrdinal(name).ok()) return name;
  const std::string folder = p.parent_path().filename().string();
  if (!folder.empty() && DayOrdinal(folder).ok()) return folder;
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot tell which day ", path,
      " belongs to: name the file or its folder YYYY-MM-DD or day-N, or set the stage's `day`"));
}

absl::StatusOr<DailyState> ReadDailyState(const ReplayStore& store) {
  ASSIGN_OR_RETURN(std::string v, store.GetRaw(ReplayTable::kMeta, kStateKey));
  DailyState st;
  if (!st.ParseFromString(v)) {
    return absl::DataLossError(
        absl::StrCat("daily store ", store.dir(), ": the daily state does not parse"));
  }
  return st;
}

absl::StatusOr<DayIngestResult> IngestDay(ReplayStore& store, const DailyIngestOptions& options,
                                          const ItemTable& items,
                                          const UserFeatureTable* profiles,
                                          const DayRequests& day) {
  DayIngester ingester(store, options, items, profiles, day);
  return ingester.Run();
}

}  // namespace resact
