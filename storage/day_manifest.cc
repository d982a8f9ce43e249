#include "storage/day_manifest.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace resact {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
}

}  // namespace

absl::StatusOr<int64_t> DayOrdinal(const std::string& name) {
  absl::string_view s = name;
  for (const char* ext : {".csv", ".tsv", ".log"}) {
    if (absl::EndsWith(s, ext)) s.remove_suffix(std::string(ext).size());
  }
  if (s.size() == 10 && s[4] == '-' && s[7] == '-' && AllDigits(s.substr(0, 4)) &&
      AllDigits(s.substr(5, 2)) && AllDigits(s.substr(8, 2))) {
    int y = 0, m = 0, d = 0;
    (void)absl::SimpleAtoi(s.substr(0, 4), &y);
    (void)absl::SimpleAtoi(s.substr(5, 2), &m);
    (void)absl::SimpleAtoi(s.substr(8, 2), &d);
    static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m >= 1 && m <= 12 && d >= 1 && d <= kDays[m - 1] && (m != 2 || d <= 28 || leap)) {
      return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
    }
  } else {
    for (const char* prefix : {"day-", "day_", ""}) {
      if (!absl::StartsWith(s, prefix)) continue;
      const absl::string_view n = s.substr(std::string(prefix).size());
      int64_t v = 0;
      if (AllDigits(n) && n.size() <= 9 && absl::SimpleAtoi(n, &v)) return v;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "day partition '", name, "': cannot tell its day; name day partitions YYYY-MM-DD or "
      "day-N (a file or folder per day, e.g. logs/2026-11-28/ or day-007.csv)"));
}

const char* DayActionName(DayAction a) {
  switch (a) {
    case DayAction::kAppend:
      return "append";
    case DayAction::kNoOp:
      return "no-op (already ingested)";
    case DayAction::kReplace:
      return "replace";
  }
  return "?";
}

absl::StatusOr<DayAction> DecideDay(const DayManifest& m, const DayRecord& day,
                                    const DayDecisionOptions& options) {
  if (options.window_days < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("window_days must be >= 1, got ", options.window_days));
  }
  const DayRecord* known = nullptr;
  int64_t newest = day.ordinal();
  for (const DayRecord& r : m.day()) {
    newest = std::max(newest, r.ordinal());
    if (r.ordinal() == day.ordinal()) known = &r;
  }
  if (known != nullptr) {
    if (known->checksum() == day.checksum() && known->rows() == day.rows()) {
      return DayAction::kNoOp;
    }
    if (!options.reingest) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "day %s was ingested (as '%s', %d rows, checksum %016x) and its content has changed "
          "(%d rows, checksum %016x); re-ingesting it replaces exactly that day's rows: ask "
          "for it with reingest",
          day.name(), known->name(), known->rows(), known->checksum(), day.rows(),
          day.checksum()));
    }
  }
  const int64_t oldest_allowed = newest - options.window_days + 1;
  if (day.ordinal() < oldest_allowed) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "day %s is older than the window: the newest day ingested is %d days later and days "
        "may arrive out of order within %d days (window_days); its sessions and rewards are "
        "final",
        day.name(), newest - day.ordinal(), options.window_days));
  }
  return known != nullptr ? DayAction::kReplace : DayAction::kAppend;
}

DayManifest WithDay(const DayManifest& m, const DayRecord& day) {
  DayManifest out;
  bool placed = false;
  for (const DayRecord& r : m.day()) {
    if (!placed && r.ordinal() >= day.ordinal()) {
      DayRecord* d = out.add_day();
      *d = day;
      if (r.ordinal() == day.ordinal()) {
        d->set_replaced(r.replaced() + 1);
        placed = true;
        continue;
      }
      placed = true;
    }
    *out.add_day() = r;
  }
  if (!placed) *out.add_day() = day;
  return out;
}

}  // namespace resact
