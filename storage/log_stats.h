// The statistics of a sessionized log in the form of the ResAct paper's
// Table 1: users, sessions, requests; per-user mean session length (mean and
// quartiles over users); sessions per user (mean and quartiles); per-user
// mean return time in hours (mean and quartiles over users with a return).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace resact {

struct LogStats {
  uint64_t users = 0, sessions = 0, requests = 0;
  double session_length_mean = 0, session_length_q25 = 0, session_length_q75 = 0;
  double sessions_per_user_mean = 0, sessions_per_user_q25 = 0, sessions_per_user_q75 = 0;
  double return_hours_mean = 0, return_hours_q25 = 0, return_hours_q75 = 0;
  // Quantiles of all individual return times, hours.
  double return_all_q25 = 0, return_all_q75 = 0;
};

class LogStatsAccumulator {
 public:
  // One user: session lengths (requests) and return times (hours) between
  // consecutive sessions (sessions − 1 values).
  void AddUser(const uint64_t* session_lengths, size_t sessions, const double* return_hours);
  LogStats Finish();

 private:
  uint64_t sessions_ = 0, requests_ = 0;
  std::vector<float> user_mean_length_, user_sessions_, user_mean_return_, all_returns_;
};

// Quantile with linear interpolation (numpy's default); sorts `v`.
double Quantile(std::vector<float>& v, double q);

// A text table of the statistics, beside `reference` values when given.
std::string FormatLogStats(const LogStats& s, const LogStats* reference = nullptr);

// The paper's Table 1 for RecL-25m.
LogStats PaperRecl25mStats();

}  // namespace resact
