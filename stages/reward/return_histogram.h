// A mergeable histogram of return times for the reward's percentile cap δ_p
// (method.md section 1; daily retraining, section 6). Exact counts over fine
// log-spaced bins: histograms of two days add bin by bin, so the percentile
// over everything ingested so far needs no re-sort of history, and a store
// built day by day holds the same histogram as one built in a single run
// over the same days.
//
// Bins: kBinsPerDecade = 1000 log-spaced bins per decade of hours over
// [kMinHours, kMaxHours) = [1e-4 h, 1e6 h), ten decades, plus one bin below
// (return times < 0.36 s, and 0) and one above. The exact minimum and
// maximum are kept too.
//
// Error against the exact percentile (Percentile() in reward.h, linear
// interpolation between order statistics): each order statistic is taken as
// its bin's geometric centre, at most a factor 10^(1/2000) ≈ 1.00115 from the
// true value, so |p̂ − p| ≤ 0.12% of p inside the range (tested). Outside it
// the order statistic is clamped to the exact minimum or maximum, and the
// first and last order statistics are the exact minimum and maximum.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace resact {

class ReturnHistogram {
 public:
  static constexpr int kBinsPerDecade = 1000;
  static constexpr double kMinHours = 1e-4;
  static constexpr double kMaxHours = 1e6;
  static constexpr int kDecades = 10;
  // Bins: 0 below kMinHours, 1..kDecades·kBinsPerDecade inside, last above.
  static constexpr int kBins = kDecades * kBinsPerDecade + 2;
  // The bound on |p̂ − p| / p inside the range.
  static double RelativeError();

  ReturnHistogram();

  // Counts one return time; NaN (a user's last session) is ignored.
  void Add(double hours);
  // Removes one return time counted before (a user's history rebuilt). The
  // percentile's error bound still holds; the minimum and maximum stay as
  // outer bounds when the removed value was one of them.
  void Remove(double hours);
  // Adds every count of `other` (the histogram of other days or shards).
  void Merge(const ReturnHistogram& other);
  uint64_t count() const { return count_; }
  double min() const { return min_; }
  double max() const { return max_; }
  // The p-th percentile (p in [0, 100]) with linear interpolation between
  // order statistics, as Percentile() in reward.h; 0 when empty.
  double Percentile(double percent) const;

  // A compact binary form (the non-empty bins only) and back; DataLoss when
  // `bytes` is not one.
  std::string Encode() const;
  static absl::StatusOr<ReturnHistogram> Decode(absl::string_view bytes);

  bool operator==(const ReturnHistogram& o) const {
    return count_ == o.count_ && counts_ == o.counts_ && min_ == o.min_ && max_ == o.max_;
  }

 private:
  static int Bin(double hours);
  // The value standing for the k-th order statistic (0-based).
  double OrderStatistic(uint64_t k) const;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double min_ = 0, max_ = 0;
};

}  // namespace resact
