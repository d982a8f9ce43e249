// Transitions for the trainer to learn from: the TransitionSource interface,
// arrays in memory (ArraySource: benchmarks, tests), the train split of a
// replay store (LoadReplaySource) and a window of its newest days
// (ReplayWindowSource). No torch in this header.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace resact {
struct ReplaySample;
class ReplayReader;
namespace learners {

// Transitions to learn from.
class TransitionSource {
 public:
  virtual ~TransitionSource() = default;
  virtual int state_dim() const = 0;
  virtual int action_dim() const = 0;
  // s_h = state[:, :session_dim].
  virtual int session_dim() const = 0;
  virtual uint64_t size() const = 0;
  // `n` transitions drawn uniformly with replacement using `rng`, into `out`
  // (raw states; r_rt and r_sl filled, `reward` may be left unset).
  // session_end[i] = 1 when transition i is the last request of its session.
  virtual void Sample(int n, std::mt19937_64& rng, ReplaySample* out,
                      std::vector<uint8_t>* session_end) const = 0;
};

// Transitions held in contiguous row-major arrays (benchmarks, tests).
struct TransitionArrays {
  int state_dim = 0;
  int action_dim = 0;
  int session_dim = 0;
  std::vector<float> state;       // [n × state_dim]
  std::vector<float> next_state;  // [n × state_dim]
  std::vector<float> action;      // [n × action_dim], in [-1, 1]
  std::vector<float> r_rt;        // [n], return-time reward (any real)
  std::vector<float> r_sl;        // [n], session-length reward (any real)
  std::vector<float> done;        // [n], 1 at a user's last request
  std::vector<uint8_t> session_end;  // [n], 1 at a session's last request
  uint64_t size() const { return r_rt.size(); }
};

class ArraySource : public TransitionSource {
 public:
  // Checks that the arrays have consistent sizes.
  static absl::StatusOr<std::shared_ptr<ArraySource>> Create(TransitionArrays arrays);
  int state_dim() const override { return a_.state_dim; }
  int action_dim() const override { return a_.action_dim; }
  int session_dim() const override { return a_.session_dim; }
  uint64_t size() const override { return a_.size(); }
  void Sample(int n, std::mt19937_64& rng, ReplaySample* out,
              std::vector<uint8_t>* session_end) const override;
  const TransitionArrays& arrays() const { return a_; }

 private:
  explicit ArraySource(TransitionArrays a) : a_(std::move(a)) {}
  TransitionArrays a_;
};

// The train split of the replay store in `dir`, loaded under `memory_budget_mb`.
absl::StatusOr<std::shared_ptr<const TransitionSource>> LoadReplaySource(
    const std::string& dir, int64_t memory_budget_mb);

// A window of the newest days of a replay's train split (daily retraining):
// the sessions that start at or after `min_session_start_ms`, drawn with
// weight 2^(−age / half_life_days), the age being the whole days between a
// transition and the window's newest one; half_life_days 0 draws uniformly.
struct ReplayWindowOptions {
  int64_t min_session_start_ms = INT64_MIN;
  double half_life_days = 0;
  int64_t memory_budget_mb = 4096;
};

class ReplayWindowSource : public TransitionSource {
 public:
  // FailedPrecondition naming the store when the window has no transition.
  static absl::StatusOr<std::shared_ptr<const ReplayWindowSource>> Load(
      const std::string& dir, const ReplayWindowOptions& options);
  ~ReplayWindowSource() override;
  int state_dim() const override;
  int action_dim() const override;
  int session_dim() const override;
  uint64_t size() const override;
  void Sample(int n, std::mt19937_64& rng, ReplaySample* out,
              std::vector<uint8_t>* session_end) const override;
  // The loaded window (the behaviour model is refit on it).
  const ReplayReader& reader() const { return *reader_; }
  // Transitions per age in days (0: the newest day), and each age's share
  // of the draws.
  const std::vector<uint64_t>& day_counts() const { return day_counts_; }
  std::vector<double> day_shares() const;

 private:
  ReplayWindowSource() = default;
  std::unique_ptr<ReplayReader> reader_;
  std::vector<uint64_t> day_counts_;
  std::vector<uint64_t> by_age_;    // Transitions, grouped by age.
  std::vector<uint64_t> age_first_; // Start of each age's group in by_age_.
  std::vector<double> cumulative_;  // Of each age's total weight.
};

}  // namespace learners
}  // namespace resact
