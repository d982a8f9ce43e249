// The mergeable return-time histogram (stages/reward/return_histogram.h):
// its percentile against the exact one (reward.h Percentile) within the
// stated error, merging equal to building in one pass, and its encoding.
#include "stages/reward/return_histogram.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "stages/reward/reward.h"

namespace resact {
namespace {

std::vector<double> LogNormalHours(int n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(std::log(20.0), 1.5);
  std::vector<double> v(n);
  for (double& x : v) x = 0.5 + d(rng);  // Above a 30-minute session gap.
  return v;
}

TEST(ReturnHistogram, PercentileIsWithinTheStatedErrorOfTheExactOne) {
  EXPECT_NEAR(ReturnHistogram::RelativeError(), 0.00115, 0.00001);
  for (int n : {1, 2, 7, 1000, 100000}) {
    const std::vector<double> hours = LogNormalHours(n, 7 + n);
    ReturnHistogram h;
    for (double x : hours) h.Add(x);
    ASSERT_EQ(h.count(), static_cast<uint64_t>(n));
    for (double p : {0.0, 25.0, 50.0, 75.0, 90.0, 100.0}) {
      std::vector<double> copy = hours;
      const double exact = Percentile(copy, p);
      EXPECT_NEAR(h.Percentile(p), exact, exact * ReturnHistogram::RelativeError())
          << "n " << n << " p " << p;
    }
  }
  // The extremes are exact.
  const std::vector<double> hours = LogNormalHours(500, 3);
  ReturnHistogram h;
  for (double x : hours) h.Add(x);
  EXPECT_EQ(h.Percentile(0), *std::min_element(hours.begin(), hours.end()));
  EXPECT_EQ(h.Percentile(100), *std::max_element(hours.begin(), hours.end()));
  EXPECT_EQ(ReturnHistogram().Percentile(75), 0);
}

TEST(ReturnHistogram, OutOfRangeValuesClampToTheExactExtremes) {
  ReturnHistogram h;
  h.Add(0);
  h.Add(2e-5);
  h.Add(3e7);
  h.Add(std::nan(""));  // Ignored.
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.Percentile(0), 0);
  // 2e-5 h is below the range, in the bin with 0: an order statistic there
  // stands as the exact minimum (the documented clamp).
  EXPECT_EQ(h.Percentile(50), 0);
  EXPECT_EQ(h.Percentile(75), 0 + (3e7 - 0) * 0.5);
  EXPECT_EQ(h.Percentile(100), 3e7);
}

TEST(ReturnHistogram, DaysMergedEqualOnePassAndTheEncodingRoundTrips) {
  const std::vector<double> hours = LogNormalHours(20000, 11);
  ReturnHistogram all, days[7];
  for (size_t i = 0; i < hours.size(); ++i) {
    all.Add(hours[i]);
    days[i % 7].Add(hours[i]);
  }
  ReturnHistogram merged;
  for (const ReturnHistogram& d : days) {
    auto decoded = ReturnHistogram::Decode(d.Encode());
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_TRUE(*decoded == d);
    merged.Merge(*decoded);
  }
  EXPECT_TRUE(merged == all);
  EXPECT_EQ(merged.Percentile(75), all.Percentile(75));
  // A damaged record is refused.
  std::string bytes = all.Encode();
  EXPECT_FALSE(ReturnHistogram::Decode(bytes.substr(0, bytes.size() - 3)).ok());
  EXPECT_FALSE(ReturnHistogram::Decode("x").ok());
  EXPECT_FALSE(ReturnHistogram::Decode("").ok());
}

}  // namespace
}  // namespace resact
