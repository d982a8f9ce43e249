#include "storage/replay_stats.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "graph/status.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"

namespace resact {

namespace {

ReplayDistribution Distribution(std::vector<double> v) {
  ReplayDistribution d;
  d.n = v.size();
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  d.mean = sum / v.size();
  auto q = [&v](double p) {
    const double pos = p * (v.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - lo) * (v[hi] - v[lo]);
  };
  d.min = v.front();
  d.q25 = q(0.25);
  d.q50 = q(0.5);
  d.q75 = q(0.75);
  d.max = v.back();
  return d;
}

// 1234567 -> "1,234,567".
std::string Thousands(uint64_t n) {
  std::string s = absl::StrCat(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return s;
}

std::string Pct(uint64_t k, uint64_t n) {
  return n == 0 ? std::string("-") : absl::StrFormat("%.1f%%", 100.0 * k / n);
}

// Unix milliseconds as "2001-01-04 00:00:00 UTC (978566400 s)".
std::string UtcTime(int64_t ms) {
  const int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  const time_t t = static_cast<time_t>(s);
  struct tm tm;
  std::string date = "?";
  if (gmtime_r(&t, &tm) != nullptr) {
    date = absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return absl::StrCat(date, " (", s, " s)");
}

// "first request ... last request ... (N days)" from the meta; "unknown" for
// a store written before the meta had the time range.
std::string TimeRange(const ReplayMeta& m) {
  if (!m.has_first_request_ms() || !m.has_last_request_ms()) {
    return "unknown (written before the replay meta recorded it)";
  }
  return absl::StrFormat("%s .. %s, %.1f days", UtcTime(m.first_request_ms()),
                         UtcTime(m.last_request_ms()),
                         (m.last_request_ms() - m.first_request_ms()) / 86400e3);
}

}  // namespace

absl::StatusOr<ReplayStats> ComputeReplayStats(const std::string& dir) {
  ReplayStoreOptions so;
  so.read_only = true;
  ASSIGN_OR_RETURN(std::unique_ptr<ReplayStore> store, ReplayStore::Open(dir, so));
  ReplayStats st;
  st.dir = dir;
  absl::StatusOr<ReplayMeta> meta = store->ReadMeta();
  if (meta.ok()) {
    st.meta = *meta;
  } else if (!absl::IsNotFound(meta.status())) {
    return meta.status();
  }
  std::vector<double> per_user;
  RETURN_IF_ERROR(store->ForEachUser([&](const ReplayUserRecord& u) -> absl::Status {
    ++st.users;
    ++(u.is_test ? st.test_users : st.train_users);
    per_user.push_back(u.num_sessions);
    return absl::OkStatus();
  }));
  std::vector<double> lengths, returns;
  LogStatsAccumulator table1;
  int64_t cur_user = 0;
  bool have_user = false;
  std::vector<uint64_t> user_lengths;
  std::vector<double> user_returns;
  auto flush_user = [&] {
    if (!user_lengths.empty()) table1.AddUser(user_lengths.data(), user_lengths.size(), user_returns.data());
    user_lengths.clear();
    user_returns.clear();
  };
  RETURN_IF_ERROR(store->ForEachSession([&](const ReplaySessionRecord& s) -> absl::Status {
    if (!have_user || s.user != cur_user) {
      flush_user();
      cur_user = s.user;
      have_user = true;
    }
    user_lengths.push_back(s.length);
    if (std::isfinite(s.return_hours)) user_returns.push_back(s.return_hours);
    ++st.sessions;
    st.requests += s.length;
    lengths.push_back(s.length);
    if (std::isfinite(s.return_hours)) returns.push_back(s.return_hours);
    const int rt = std::min<int>(s.r_rt, 5), sl = std::min<int>(s.r_sl, 5);
    ++st.r_rt_hist[rt];
    ++st.r_sl_hist[sl];
    ++st.both_hist[rt + sl];  // 0.5·(rt+sl) in steps of 0.5 is bin rt+sl.
    return absl::OkStatus();
  }));
  flush_user();
  if (st.meta.reward().rewards_at_read()) {
    // A daily store: its rewards are derived on read, from every user's
    // sessions (storage/reward_rules.h), as learners see them.
    std::fill(std::begin(st.r_rt_hist), std::end(st.r_rt_hist), 0);
    std::fill(std::begin(st.r_sl_hist), std::end(st.r_sl_hist), 0);
    std::fill(std::begin(st.both_hist), std::end(st.both_hist), 0);
    ReplayReaderOptions ro;
    ro.split = ReplaySplit::kAll;
    ro.prefix_sum_stride = 0;
    ASSIGN_OR_RETURN(std::unique_ptr<ReplayReader> reader, ReplayReader::Load(dir, ro));
    for (size_t s = 0; s < reader->num_sessions(); ++s) {
      const uint64_t last = reader->session_transitions(s).end - 1;
      const int rt = std::min<int>(reader->r_rt(last), 5);
      const int sl = std::min<int>(reader->r_sl(last), 5);
      ++st.r_rt_hist[rt];
      ++st.r_sl_hist[sl];
      ++st.both_hist[rt + sl];
    }
  }
  st.table1 = table1.Finish();
  ASSIGN_OR_RETURN(st.items, store->CountRecords(ReplayTable::kItems));
  st.session_length = Distribution(std::move(lengths));
  st.sessions_per_user = Distribution(std::move(per_user));
  st.return_hours = Distribution(std::move(returns));
  ASSIGN_OR_RETURN(st.sizes, store->Sizes());
  if (st.requests > 0) {
    uint64_t sst = 0;
    for (uint64_t b : st.sizes.sst_bytes) sst += b;
    st.disk_bytes_per_transition = static_cast<double>(st.sizes.directory_bytes) / st.requests;
    st.sst_bytes_per_transition = static_cast<double>(sst) / st.requests;
  }
  return st;
}

std::string FormatReplayStats(const ReplayStats& st) {
  const ReplayMeta& m = st.meta;
  std::string out;
  absl::StrAppend(&out, "replay ", st.dir, "  (",
                  m.state() == ReplayMeta::STATE_UNKNOWN ? std::string("no meta")
                                                         : ReplayMeta::State_Name(m.state()),
                  ", format ", m.format_version(), ", source fingerprint \"",
                  m.source_fingerprint(), "\")\n");
  if (!m.source_description().empty()) {
    absl::StrAppend(&out, "source: ", m.source_description(), "\n");
  }
  absl::StatusOr<ReplayVerifyRecord> verified = ReplayStore::ReadVerifyRecord(st.dir);
  if (verified.ok()) {
    absl::StrAppend(&out, "checksums verified ", absl::FormatTime("%Y-%m-%d %H:%M UTC",
                                                                   absl::FromUnixSeconds(verified->unix_seconds),
                                                                   absl::UTCTimeZone()),
                    ": ", verified->files, " files, ",
                    verified->damaged == 0 ? std::string("none damaged")
                                           : absl::StrCat(verified->damaged, " DAMAGED"),
                    "\n\n");
  } else {
    absl::StrAppend(&out, "checksums never verified: run `resact replay verify ", st.dir,
                    "`\n\n");
  }
  absl::StrAppend(&out, absl::StrFormat("%-28s %14s\n", "users", Thousands(st.users)));
  absl::StrAppend(&out, absl::StrFormat("%-28s %14s\n", "  train", Thousands(st.train_users)));
  absl::StrAppend(&out, absl::StrFormat("%-28s %14s\n", "  test", Thousands(st.test_users)));
  absl::StrAppend(&out, absl::StrFormat("%-28s %14s\n", "sessions", Thousands(st.sessions)));
  absl::StrAppend(
      &out, absl::StrFormat("%-28s %14s\n", "requests (transitions)", Thousands(st.requests)));
  absl::StrAppend(&out, absl::StrFormat("%-28s %14s\n", "items", Thousands(st.items)));
  absl::StrAppend(&out, absl::StrFormat("%-28s %s\n", "requests from .. to", TimeRange(m)));
  if (m.has_layout()) {
    absl::StrAppend(&out, absl::StrFormat("%-28s s_h %d + s_l %d = %d floats, action %d\n", "state",
                                          m.layout().session_dim(), m.layout().request_dim(),
                                          m.layout().state_dim(), m.layout().action_dim()));
  }
  absl::StrAppend(&out, absl::StrFormat("%-28s feedback %s, behaviour log-probs %s\n", "columns",
                                        m.has_feedback() ? "yes" : "no",
                                        m.has_behaviour_logprob() ? "yes" : "no"));
  if (m.has_reward()) {
    absl::StrAppend(
        &out, absl::StrFormat("%-28s gap %.0f s, return p75 %.2f h, feedback mean %.3f std %.3f\n",
                              "reward statistics", m.reward().gap_seconds(),
                              m.reward().return_p75_hours(), m.reward().feedback_mean(),
                              m.reward().feedback_std()));
  }
  absl::StrAppend(&out, "\n",
                  absl::StrFormat("%-28s %10s %10s %10s %10s %10s %10s\n", "", "mean", "min", "q25",
                                  "median", "q75", "max"));
  auto row = [&out](const char* name, const ReplayDistribution& d) {
    absl::StrAppend(&out, absl::StrFormat("%-28s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f\n", name,
                                          d.mean, d.min, d.q25, d.q50, d.q75, d.max));
  };
  row("session length (requests)", st.session_length);
  row("sessions per user", st.sessions_per_user);
  row("return time (hours)", st.return_hours);
  absl::StrAppend(&out, absl::StrFormat("%-28s (over %s sessions with a next session)\n", "",
                                        Thousands(st.return_hours.n)));

  absl::StrAppend(&out, "\nreward histogram over sessions (count, share)\n");
  auto hist = [&out, &st](const char* name, const uint64_t* h, int bins, double step) {
    absl::StrAppend(&out, absl::StrFormat("  %-22s", name));
    for (int k = 0; k < bins; ++k) {
      absl::StrAppend(
          &out, absl::StrFormat(" %g:%s(%s)", k * step, Thousands(h[k]), Pct(h[k], st.sessions)));
    }
    absl::StrAppend(&out, "\n");
  };
  hist("r_rt (return time)", st.r_rt_hist, 6, 1);
  hist("r_sl (session length)", st.r_sl_hist, 6, 1);
  hist("both 0.5(r_rt+r_sl)", st.both_hist, 11, 0.5);

  uint64_t sst = 0;
  for (uint64_t b : st.sizes.sst_bytes) sst += b;
  absl::StrAppend(
      &out, "\n",
      absl::StrFormat("%-28s %s bytes in all files = %.1f bytes per transition\n", "disk",
                      Thousands(st.sizes.directory_bytes), st.disk_bytes_per_transition));
  absl::StrAppend(&out, absl::StrFormat("%-28s %s bytes = %.1f bytes per transition", "  SST data",
                                        Thousands(sst), st.sst_bytes_per_transition));
  if (st.requests > 0) {
    absl::StrAppend(&out, " (");
    for (int t = 0; t < kNumReplayTables; ++t) {
      absl::StrAppend(
          &out, t == 0 ? "" : ", ", ReplayTableName(static_cast<ReplayTable>(t)), " ",
          absl::StrFormat("%.1f", static_cast<double>(st.sizes.sst_bytes[t]) / st.requests));
    }
    absl::StrAppend(&out, ")");
  }
  absl::StrAppend(&out, "\n");
  const LogStats paper = PaperRecl25mStats();
  absl::StrAppend(&out, "\nTable 1 statistics (per-user means and quartiles over users), beside "
                        "the ResAct paper's RecL-25m:\n",
                  FormatLogStats(st.table1, &paper));
  return out;
}

absl::StatusOr<std::string> ReplayStatsReport(const std::string& dir) {
  ASSIGN_OR_RETURN(ReplayStats st, ComputeReplayStats(dir));
  return FormatReplayStats(st);
}

}  // namespace resact
