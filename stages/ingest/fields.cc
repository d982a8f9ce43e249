// Column options, field splitting, number and timestamp parsing and the
// malformed-row messages: see fields.h.
#include "stages/ingest/fields.h"

#include <time.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace resact {
namespace ingest {

absl::StatusOr<ColumnOption> ParseColumnOption(const std::string& option, const std::string& spec,
                                               bool has_header) {
  if (spec.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": must name a column (a header name or a 0-based index)"));
  }
  ColumnOption c{option, spec, -1};
  if (spec.size() <= 6 && std::all_of(spec.begin(), spec.end(),
                                      [](char ch) { return ch >= '0' && ch <= '9'; })) {
    c.index = std::stoi(spec);
  }
  if (!has_header && c.index < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        option, ": '", spec, "' is not a 0-based column index, and has_header is false"));
  }
  return c;
}

absl::Status CheckDelimiter(const std::string& delimiter) {
  if (delimiter.empty()) return absl::InvalidArgumentError("delimiter: must not be empty");
  if (delimiter.find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError("delimiter: must not contain a line break");
  }
  return absl::OkStatus();
}

FieldSplitter::FieldSplitter(std::string delimiter) : delimiter_(std::move(delimiter)) {
  if (delimiter_.empty()) delimiter_ = ",";
  fields_.reserve(16);
}

std::string DescribeDelimiter(absl::string_view delimiter) {
  if (delimiter == "\t") return "tab";
  return absl::StrCat("'", delimiter, "'");
}

TimestampResult ParseTimestampSlow(absl::string_view s, TimeUnit unit, bool allow_fraction,
                                   int64_t* ms) {
  const char* const begin = s.data();
  const char* const end = begin + s.size();
  // Integer overflow ("99999999999999999999") or a negative number
  // ("-1.5"): tell them apart from garbage for the message.
  {
    int64_t iv;
    auto r = std::from_chars(begin, end, iv);
    if (r.ec == std::errc::result_out_of_range && r.ptr == end) {
      return begin[0] == '-' ? TimestampResult::kNegative : TimestampResult::kOutOfRange;
    }
  }
  double dv;
  auto dr = fast_float::from_chars(begin, end, dv);
  const bool is_number = dr.ec == std::errc() && dr.ptr == end && std::isfinite(dv);
  if (!is_number) return TimestampResult::kNotANumber;
  if (dv < 0) return TimestampResult::kNegative;
  // A number, but not an integer.
  if (!allow_fraction) return TimestampResult::kNotANumber;

  // Plain decimals ("1.5", ".25", "7."): exact, digit by digit.
  const char* dot = static_cast<const char*>(std::memchr(begin, '.', s.size()));
  bool plain = dot != nullptr && begin[0] != '-';
  if (plain) {
    for (const char* p = begin; p < end; ++p) {
      if (p != dot && (*p < '0' || *p > '9')) {
        plain = false;
        break;
      }
    }
  }
  if (plain) {
    uint64_t ip = 0;
    if (dot > begin) {
      auto r = std::from_chars(begin, dot, ip);
      if (r.ec != std::errc() || r.ptr != dot) return TimestampResult::kOutOfRange;
    }
    // Up to three fraction digits matter for milliseconds from seconds.
    uint64_t frac_ms = 0;
    int digits = 0;
    for (const char* p = dot + 1; p < end && digits < 3; ++p, ++digits) {
      frac_ms = frac_ms * 10 + static_cast<uint64_t>(*p - '0');
    }
    for (; digits < 3; ++digits) frac_ms *= 10;
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    uint64_t out = 0;
    switch (unit) {
      case TimeUnit::kSeconds:
        if (ip > (kMax - frac_ms) / 1000) return TimestampResult::kOutOfRange;
        out = ip * 1000 + frac_ms;
        break;
      case TimeUnit::kMilliseconds:
        if (ip > kMax) return TimestampResult::kOutOfRange;
        out = ip;
        break;
      case TimeUnit::kMicroseconds:
        out = ip / 1000;
        break;
    }
    *ms = static_cast<int64_t>(out);
    return TimestampResult::kOk;
  }
  // Exponent notation ("1.6e9"): through a double.
  double scaled = dv;
  switch (unit) {
    case TimeUnit::kSeconds: scaled = dv * 1000.0; break;
    case TimeUnit::kMilliseconds: break;
    case TimeUnit::kMicroseconds: scaled = dv / 1000.0; break;
  }
  scaled = std::floor(scaled);
  if (!(scaled < 9.2e18)) return TimestampResult::kOutOfRange;
  *ms = static_cast<int64_t>(scaled);
  return TimestampResult::kOk;
}

// ---------------------------------------------------------------------------

absl::StatusOr<TimestampWindow> TimestampWindow::Make(int64_t min_s, int64_t max_s) {
  if (min_s > max_s) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_timestamp (", min_s, " s, ", UtcDate(min_s), ") must not be after max_timestamp (",
        max_s, " s, ", UtcDate(max_s), ")"));
  }
  constexpr int64_t kMaxS = std::numeric_limits<int64_t>::max() / 1000;
  constexpr int64_t kMinS = std::numeric_limits<int64_t>::min() / 1000;
  TimestampWindow w;
  w.min_s = min_s;
  w.max_s = max_s;
  w.min_ms = min_s <= kMinS ? std::numeric_limits<int64_t>::min()
                            : (min_s >= kMaxS ? std::numeric_limits<int64_t>::max() : min_s * 1000);
  // Every millisecond of the last second counts as inside.
  w.max_ms = max_s >= kMaxS ? std::numeric_limits<int64_t>::max()
                            : (max_s <= kMinS ? std::numeric_limits<int64_t>::min()
                                              : max_s * 1000 + 999);
  return w;
}

std::string UtcDate(int64_t s) {
  const time_t t = static_cast<time_t>(s);
  struct tm tm;
  if (gmtime_r(&t, &tm) == nullptr) return absl::StrCat("year beyond ", s / 31556952 + 1970);
  return absl::StrFormat("%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

absl::Status TimestampWindowError(const std::string& file, int64_t line, absl::string_view column,
                                  int64_t ts_ms, const TimestampWindow& window) {
  const int64_t s = ts_ms / 1000;
  std::string value = ts_ms % 1000 == 0 ? absl::StrCat(s)
                                        : absl::StrFormat("%.3f", static_cast<double>(ts_ms) / 1e3);
  const std::string& hint = ts_ms > window.max_ms ? window.hint_above : window.hint_below;
  return absl::InvalidArgumentError(absl::StrCat(
      file, ":", line, ": ", column, ": ", value, " s (", UtcDate(s),
      ") is outside the plausible window [", UtcDate(window.min_s), ", ", UtcDate(window.max_s),
      "] (options min_timestamp, max_timestamp)", hint.empty() ? "" : "; ", hint));
}

std::string Quote(absl::string_view s) {
  constexpr size_t kMax = 60;
  if (s.size() <= kMax) return absl::StrCat("'", s, "'");
  return absl::StrCat("'", s.substr(0, kMax), "'... (", s.size(), " characters)");
}

absl::Status RowError(const std::string& file, int64_t line, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(file, ":", line, ": ", message));
}

absl::Status FieldError(const std::string& file, int64_t line, absl::string_view column,
                        absl::string_view expected, absl::string_view value) {
  return absl::InvalidArgumentError(
      absl::StrCat(file, ":", line, ": ", column, ": expected ", expected, ", got ", Quote(value)));
}

absl::Status EmptyFieldError(const std::string& file, int64_t line, absl::string_view column) {
  return absl::InvalidArgumentError(absl::StrCat(file, ":", line, ": ", column, ": empty field"));
}

absl::Status TimestampFieldError(TimestampResult result, int64_t ms, absl::string_view field,
                                 const TimestampExpected& expected,
                                 const TimestampWindow& window, const std::string& file,
                                 int64_t line, absl::string_view column) {
  switch (result) {
    case TimestampResult::kOk:
      break;
    case TimestampResult::kNotANumber:
      if (field.empty()) return EmptyFieldError(file, line, column);
      return FieldError(file, line, column, expected.number, field);
    case TimestampResult::kNegative:
      return FieldError(file, line, column, "a non-negative timestamp", field);
    case TimestampResult::kOutOfRange:
      return FieldError(file, line, column, expected.out_of_range, field);
  }
  return TimestampWindowError(file, line, column, ms, window);
}

}  // namespace ingest
}  // namespace resact
