// Fields of a delimited line and what the readers parse out of them:
//   - ColumnOption: a reader's column option (a header name or a 0-based
//     index), and the delimiter option's check;
//   - FieldSplitter: a line split at its delimiter into views, without
//     allocation;
//   - ParseInt64, ParseFiniteFloat, ParseTimestampMs: the numbers of a field
//     (std::from_chars for integers, fast_float for floats), and the
//     plausible window of request times;
//   - RowError, FieldError, ...: the "file:line: column 'c': expected X, got
//     'v'" messages of malformed rows, and the Parse*Field functions that
//     parse one field or return that message.
// The readers' other layers: input_files.h (which files), line_reader.h (the
// lines of a file), ingest_loop.h (batches, progress, the bad-row budget).
// Everything here is in namespace resact::ingest.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fast_float/fast_float.h"

namespace resact {
namespace ingest {

// ---------------------------------------------------------------------------
// Column options.

// One mapped column as a reader's options give it.
struct ColumnOption {
  std::string option;  // Option field, e.g. "user_column".
  std::string spec;    // Header name or index, e.g. "user_id" or "0".
  int index = -1;      // The index when `spec` is all digits (at most 6), else -1.
};

// The column option `option` = `spec`. InvalidArgument naming the option
// when `spec` is empty, or is a header name while the file has no header.
absl::StatusOr<ColumnOption> ParseColumnOption(const std::string& option, const std::string& spec,
                                               bool has_header);

// InvalidArgument unless `delimiter` is non-empty and has no line break.
absl::Status CheckDelimiter(const std::string& delimiter);

// ---------------------------------------------------------------------------
// Fields.

// Splits lines at a delimiter of one or more characters into views of the
// line, with surrounding spaces removed. An empty line has one empty field.
class FieldSplitter {
 public:
  explicit FieldSplitter(std::string delimiter = ",");
  // Splits `line`; returns the number of fields. The views point into `line`.
  size_t Split(absl::string_view line);
  size_t size() const { return fields_.size(); }
  absl::string_view operator[](size_t i) const { return fields_[i]; }
  const std::vector<absl::string_view>& fields() const { return fields_; }
  const std::string& delimiter() const { return delimiter_; }

 private:
  std::string delimiter_;
  std::vector<absl::string_view> fields_;
};

inline absl::string_view TrimSpaces(absl::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && s[b] == ' ') ++b;
  while (e > b && s[e - 1] == ' ') --e;
  return s.substr(b, e - b);
}

// A header name without surrounding spaces or double quotes.
inline absl::string_view HeaderName(absl::string_view f) {
  f = TrimSpaces(f);
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
  return f;
}

inline size_t FieldSplitter::Split(absl::string_view line) {
  fields_.clear();
  const char* p = line.data();
  const char* const end = p + line.size();
  const size_t dlen = delimiter_.size();
  if (dlen == 1) {
    const char d = delimiter_[0];
    for (;;) {
      const char* q = p == end ? nullptr
                               : static_cast<const char*>(std::memchr(p, d, end - p));
      const char* field_end = q == nullptr ? end : q;
      absl::string_view f(p, static_cast<size_t>(field_end - p));
      if (!f.empty() && (f.front() == ' ' || f.back() == ' ')) f = TrimSpaces(f);
      fields_.push_back(f);
      if (q == nullptr) break;
      p = q + 1;
    }
  } else {
    absl::string_view rest = line;
    for (;;) {
      size_t q = rest.find(absl::string_view(delimiter_));
      absl::string_view f = rest.substr(0, q);
      if (!f.empty() && (f.front() == ' ' || f.back() == ' ')) f = TrimSpaces(f);
      fields_.push_back(f);
      if (q == absl::string_view::npos) break;
      rest.remove_prefix(q + dlen);
    }
  }
  return fields_.size();
}

// "tab", "','", "'::'": a delimiter for messages.
std::string DescribeDelimiter(absl::string_view delimiter);

// ---------------------------------------------------------------------------
// Numbers. Each parses the whole of `s` (no spaces, no leading '+').

// A decimal int64.
inline bool ParseInt64(absl::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, *out);
  return r.ec == std::errc() && r.ptr == end;
}

// A finite float: NaN, infinities and values beyond the float range fail.
inline bool ParseFiniteFloat(absl::string_view s, float* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  float v;
  auto r = fast_float::from_chars(s.data(), end, v);
  if (r.ec != std::errc() || r.ptr != end || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

enum class TimeUnit { kSeconds, kMilliseconds, kMicroseconds };

enum class TimestampResult {
  kOk,
  kNotANumber,  // Not a number (or, without fractions, not an integer).
  kNegative,    // A number below zero.
  kOutOfRange,  // Beyond int64 milliseconds.
};

TimestampResult ParseTimestampSlow(absl::string_view s, TimeUnit unit, bool allow_fraction,
                                   int64_t* ms);

// A non-negative Unix time in `unit`, as milliseconds (fractions of a
// millisecond truncated). Integers always; with `allow_fraction` also
// decimals ("1.5") and exponents ("1.6e9").
inline TimestampResult ParseTimestampMs(absl::string_view s, TimeUnit unit, bool allow_fraction,
                                        int64_t* ms) {
  if (s.empty()) return TimestampResult::kNotANumber;
  const char* end = s.data() + s.size();
  int64_t v;
  auto r = std::from_chars(s.data(), end, v);
  if (r.ec != std::errc() || r.ptr != end) {
    return ParseTimestampSlow(s, unit, allow_fraction, ms);
  }
  if (v < 0) return TimestampResult::kNegative;
  switch (unit) {
    case TimeUnit::kSeconds:
      if (v > std::numeric_limits<int64_t>::max() / 1000) return TimestampResult::kOutOfRange;
      *ms = v * 1000;
      break;
    case TimeUnit::kMilliseconds:
      *ms = v;
      break;
    case TimeUnit::kMicroseconds:
      *ms = v / 1000;
      break;
  }
  return TimestampResult::kOk;
}

// The plausible window of request times (the readers' min_timestamp and
// max_timestamp options, Unix seconds, both included), to catch a wrong unit
// (milliseconds read as seconds land in the year 50000) or a wrong column.
struct TimestampWindow {
  int64_t min_s = 788918400;   // 1995-01-01
  int64_t max_s = 4102444800;  // 2100-01-01
  // In milliseconds, saturated: compared with the parsed ts_ms.
  int64_t min_ms = 788918400000;
  int64_t max_ms = 4102444800000;
  // Added to the message, e.g. "are these milliseconds read as seconds?
  // (see timestamp_unit)"; one for times above the window, one for below.
  std::string hint_above, hint_below;

  // InvalidArgument naming the option when min_s > max_s.
  static absl::StatusOr<TimestampWindow> Make(int64_t min_s, int64_t max_s);
  bool Contains(int64_t ts_ms) const { return ts_ms >= min_ms && ts_ms <= max_ms; }
};

// "FILE:LINE: COLUMN: 32503680000 s (3000-01-01) is outside the plausible
// window [1995-01-01, 2100-01-01] (options min_timestamp, max_timestamp);
// HINT" (InvalidArgument), for a `ts_ms` that `window` does not contain.
absl::Status TimestampWindowError(const std::string& file, int64_t line, absl::string_view column,
                                  int64_t ts_ms, const TimestampWindow& window);
// "2001-01-04" (UTC) of Unix seconds `s`.
std::string UtcDate(int64_t s);

// ---------------------------------------------------------------------------
// Malformed-row messages (InvalidArgument).

// "FILE:LINE: MESSAGE".
absl::Status RowError(const std::string& file, int64_t line, absl::string_view message);
// "FILE:LINE: COLUMN: expected EXPECTED, got 'VALUE'"; `column` is e.g.
// "column 'timestamp'" or "column 3"; a long value is shortened.
absl::Status FieldError(const std::string& file, int64_t line, absl::string_view column,
                        absl::string_view expected, absl::string_view value);
// "FILE:LINE: COLUMN: empty field".
absl::Status EmptyFieldError(const std::string& file, int64_t line, absl::string_view column);
// `s` quoted for a message, shortened to about 60 characters.
std::string Quote(absl::string_view s);

// ---------------------------------------------------------------------------
// One field parsed, or the malformed-row message for it. `column` is the
// column's label for messages ("column 'user'", "column 3").

// An integer field: "FILE:LINE: COLUMN: expected an integer, got 'V'" (or
// "empty field").
inline absl::Status ParseIntField(absl::string_view field, const std::string& file, int64_t line,
                                  absl::string_view column, int64_t* out) {
  if (ParseInt64(field, out)) return absl::OkStatus();
  if (field.empty()) return EmptyFieldError(file, line, column);
  return FieldError(file, line, column, "an integer", field);
}

// A finite-float field: "... expected a finite number, got 'V'" (or "empty
// field").
inline absl::Status ParseFloatField(absl::string_view field, const std::string& file,
                                    int64_t line, absl::string_view column, float* out) {
  if (ParseFiniteFloat(field, out)) return absl::OkStatus();
  if (field.empty()) return EmptyFieldError(file, line, column);
  return FieldError(file, line, column, "a finite number", field);
}

// What a reader's messages say a timestamp field was expected to be.
struct TimestampExpected {
  const char* number;        // Not a number, e.g. "a number (seconds)".
  const char* out_of_range;  // Beyond int64 milliseconds.
};

// The message for a timestamp field that ParseTimestampMs gave `result`
// (and `ms`, when kOk) for: see ParseTimestampField.
absl::Status TimestampFieldError(TimestampResult result, int64_t ms, absl::string_view field,
                                 const TimestampExpected& expected,
                                 const TimestampWindow& window, const std::string& file,
                                 int64_t line, absl::string_view column);

// A timestamp field (see ParseTimestampMs) inside `window`, as milliseconds;
// else the message: empty field, expected `expected.number`, expected "a
// non-negative timestamp", expected `expected.out_of_range`, or the
// TimestampWindowError.
inline absl::Status ParseTimestampField(absl::string_view field, TimeUnit unit,
                                        bool allow_fraction, const TimestampExpected& expected,
                                        const TimestampWindow& window, const std::string& file,
                                        int64_t line, absl::string_view column, int64_t* ms) {
  const TimestampResult r = ParseTimestampMs(field, unit, allow_fraction, ms);
  if (r == TimestampResult::kOk && window.Contains(*ms)) return absl::OkStatus();
  return TimestampFieldError(r, r == TimestampResult::kOk ? *ms : 0, field, expected, window, file, line, column);
}

}  // namespace ingest
}  // namespace resact
