#include "storage/log_stats.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace resact {

void LogStatsAccumulator::AddUser(const uint64_t* lengths, size_t sessions,
                                  const double* return_hours) {
  if (sessions == 0) return;
  uint64_t req = 0;
  for (size_t s = 0; s < sessions; ++s) req += lengths[s];
  sessions_ += sessions;
  requests_ += req;
  user_mean_length_.push_back(static_cast<float>(static_cast<double>(req) / sessions));
  user_sessions_.push_back(static_cast<float>(sessions));
  if (sessions > 1) {
    double sum = 0;
    for (size_t s = 0; s + 1 < sessions; ++s) {
      sum += return_hours[s];
      all_returns_.push_back(static_cast<float>(return_hours[s]));
    }
    user_mean_return_.push_back(static_cast<float>(sum / (sessions - 1)));
  }
}

double Quantile(std::vector<float>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

LogStats LogStatsAccumulator::Finish() {
  auto mean = [](const std::vector<float>& v) {
    return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  };
  LogStats s;
  s.users = user_sessions_.size();
  s.sessions = sessions_;
  s.requests = requests_;
  s.session_length_mean = mean(user_mean_length_);
  s.session_length_q25 = Quantile(user_mean_length_, 0.25);
  s.session_length_q75 = Quantile(user_mean_length_, 0.75);
  s.sessions_per_user_mean = mean(user_sessions_);
  s.sessions_per_user_q25 = Quantile(user_sessions_, 0.25);
  s.sessions_per_user_q75 = Quantile(user_sessions_, 0.75);
  s.return_hours_mean = mean(user_mean_return_);
  s.return_hours_q25 = Quantile(user_mean_return_, 0.25);
  s.return_hours_q75 = Quantile(user_mean_return_, 0.75);
  s.return_all_q25 = Quantile(all_returns_, 0.25);
  s.return_all_q75 = Quantile(all_returns_, 0.75);
  return s;
}

LogStats PaperRecl25mStats() {
  LogStats s;
  s.users = 99899;
  s.sessions = 6126583;
  s.requests = 25921753;
  s.session_length_mean = 4.04;
  s.session_length_q25 = 2.14;
  s.session_length_q75 = 4.88;
  s.sessions_per_user_mean = 61.3;
  s.sessions_per_user_q25 = 30;
  s.sessions_per_user_q75 = 85;
  s.return_hours_q25 = 4.33;
  s.return_hours_q75 = 11.28;
  return s;
}

std::string FormatLogStats(const LogStats& s, const LogStats* ref) {
  std::string out;
  auto row = [&](const std::string& name, double v, double r, bool has_ref, int decimals) {
    out += absl::StrFormat("| %-36s | %14s |", name, absl::StrFormat("%.*f", decimals, v));
    if (ref != nullptr) {
      out += has_ref ? absl::StrFormat(" %14s | %+6.1f%% |", absl::StrFormat("%.*f", decimals, r),
                                       r != 0 ? 100 * (v - r) / r : 0.0)
                     : absl::StrFormat(" %14s | %7s |", "", "");
    }
    out += "\n";
  };
  // Rows "NAME, mean OF", "NAME, q25 OF", "NAME, q75 OF"; the paper gives
  // the quartiles, and the mean when `paper_mean`.
  using Spread = std::array<double, 3>;
  auto spread = [&](const char* name, const char* of, const Spread& v, const Spread& r,
                    bool paper_mean, int decimals) {
    constexpr const char* kStat[] = {"mean", "q25", "q75"};
    for (int k = 0; k < 3; ++k) {
      row(absl::StrCat(name, ", ", kStat[k], of), v[k], r[k], k > 0 || paper_mean, decimals);
    }
  };
  out += ref != nullptr ? "| statistic                            |          value |          paper |    diff |\n"
                          "|--------------------------------------|----------------|----------------|---------|\n"
                        : "| statistic                            |          value |\n"
                          "|--------------------------------------|----------------|\n";
  const LogStats r = ref != nullptr ? *ref : LogStats();
  row("users", s.users, r.users, true, 0);
  row("sessions", s.sessions, r.sessions, true, 0);
  row("requests", s.requests, r.requests, true, 0);
  spread("session length", " of user means",
         {s.session_length_mean, s.session_length_q25, s.session_length_q75},
         {r.session_length_mean, r.session_length_q25, r.session_length_q75}, true, 2);
  spread("sessions per user", "",
         {s.sessions_per_user_mean, s.sessions_per_user_q25, s.sessions_per_user_q75},
         {r.sessions_per_user_mean, r.sessions_per_user_q25, r.sessions_per_user_q75}, true, 1);
  spread("return time h", " of user means",
         {s.return_hours_mean, s.return_hours_q25, s.return_hours_q75},
         {r.return_hours_mean, r.return_hours_q25, r.return_hours_q75}, false, 2);
  row("return time h, q25 of all returns", s.return_all_q25, 0, false, 2);
  row("return time h, q75 of all returns", s.return_all_q75, 0, false, 2);
  return out;
}

}  // namespace resact
