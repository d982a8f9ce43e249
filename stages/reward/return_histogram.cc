#include "stages/reward/return_histogram.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "storage/replay_format.h"

namespace resact {
namespace {

void PutDouble(double d, std::string* out) {
  char b[8];
  std::memcpy(b, &d, 8);
  out->append(b, 8);
}

bool GetDouble(absl::string_view* in, double* d) {
  if (in->size() < 8) return false;
  std::memcpy(d, in->data(), 8);
  in->remove_prefix(8);
  return true;
}

constexpr char kMagic = 'H';

}  // namespace

double ReturnHistogram::RelativeError() { return std::pow(10.0, 0.5 / kBinsPerDecade) - 1; }

ReturnHistogram::ReturnHistogram() : counts_(kBins, 0) {}

int ReturnHistogram::Bin(double hours) {
  if (!(hours >= kMinHours)) return 0;
  if (hours >= kMaxHours) return kBins - 1;
  const int b = 1 + static_cast<int>(std::floor(std::log10(hours / kMinHours) * kBinsPerDecade));
  return std::clamp(b, 1, kBins - 2);
}

void ReturnHistogram::Add(double hours) {
  if (std::isnan(hours)) return;
  ++counts_[Bin(hours)];
  min_ = count_ == 0 ? hours : std::min(min_, hours);
  max_ = count_ == 0 ? hours : std::max(max_, hours);
  ++count_;
}

void ReturnHistogram::Remove(double hours) {
  if (std::isnan(hours)) return;
  const int b = Bin(hours);
  if (counts_[b] == 0) return;
  --counts_[b];
  if (--count_ == 0) min_ = max_ = 0;
}

void ReturnHistogram::Merge(const ReturnHistogram& other) {
  if (other.count_ == 0) return;
  for (int b = 0; b < kBins; ++b) counts_[b] += other.counts_[b];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = count_ == 0 ? other.max_ : std::max(max_, other.max_);
  count_ += other.count_;
}

double ReturnHistogram::OrderStatistic(uint64_t k) const {
  if (k == 0) return min_;
  if (k + 1 >= count_) return max_;
  uint64_t seen = 0;
  int b = 0;
  for (; b < kBins; ++b) {
    seen += counts_[b];
    if (seen > k) break;
  }
  if (b == 0) return min_;
  if (b >= kBins - 1) return max_;
  const double centre = kMinHours * std::pow(10.0, (b - 1 + 0.5) / kBinsPerDecade);
  return std::clamp(centre, min_, max_);
}

double ReturnHistogram::Percentile(double percent) const {
  if (count_ == 0) return 0;
  const double pos = percent / 100.0 * static_cast<double>(count_ - 1);
  const uint64_t lo = static_cast<uint64_t>(std::floor(pos));
  const double frac = pos - static_cast<double>(lo);
  const double a = OrderStatistic(lo);
  if (frac == 0 || lo + 1 >= count_) return a;
  return a + (OrderStatistic(lo + 1) - a) * frac;
}

std::string ReturnHistogram::Encode() const {
  std::string out(1, kMagic);
  int nonzero = 0;
  for (uint64_t c : counts_) nonzero += c != 0;
  AppendVarint(&out, static_cast<uint64_t>(nonzero));
  int last = 0;
  for (int b = 0; b < kBins; ++b) {
    if (counts_[b] == 0) continue;
    AppendVarint(&out, static_cast<uint64_t>(b - last));
    AppendVarint(&out, counts_[b]);
    last = b;
  }
  PutDouble(min_, &out);
  PutDouble(max_, &out);
  return out;
}

absl::StatusOr<ReturnHistogram> ReturnHistogram::Decode(absl::string_view bytes) {
  auto bad = [](const std::string& why) {
    return absl::DataLossError(absl::StrCat("return-time histogram: ", why));
  };
  if (bytes.empty() || bytes.front() != kMagic) return bad("not a histogram record");
  bytes.remove_prefix(1);
  ReturnHistogram h;
  uint64_t nonzero = 0;
  if (!ConsumeVarint(&bytes, &nonzero) || nonzero > kBins) return bad("bad bin count");
  uint64_t bin = 0;
  for (uint64_t i = 0; i < nonzero; ++i) {
    uint64_t delta = 0, count = 0;
    if (!ConsumeVarint(&bytes, &delta) || !ConsumeVarint(&bytes, &count)) return bad("cut short");
    bin += delta;
    if (bin >= kBins || count == 0 || (i > 0 && delta == 0)) return bad("bad bin");
    h.counts_[bin] = count;
    h.count_ += count;
  }
  if (!GetDouble(&bytes, &h.min_) || !GetDouble(&bytes, &h.max_) || !bytes.empty()) {
    return bad("bad trailer");
  }
  return h;
}

}  // namespace resact
