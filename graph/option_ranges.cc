#include "graph/option_ranges.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "graph/option_range.pb.h"
#include "graph/status.h"

namespace resact {
namespace {

namespace pb = google::protobuf;

// One end of an interval: a finite number, or ±inf when `open`.
absl::StatusOr<long double> ParseEnd(absl::string_view text, bool open, bool upper) {
  const std::string s(absl::StripAsciiWhitespace(text));
  if (s.empty()) return absl::InvalidArgumentError("an end of the interval is empty");
  std::string lower = absl::AsciiStrToLower(s);
  if (lower == "inf" || lower == "+inf" || lower == "-inf") {
    const bool negative = lower[0] == '-';
    if (!open) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", s, "' needs a round bracket: an infinite end is never included"));
    }
    if (negative == upper) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", s, "' cannot be the ", upper ? "upper" : "lower", " end"));
    }
    return negative ? -HUGE_VALL : HUGE_VALL;
  }
  // Only plain numbers: no "nan", "infinity" or hex floats.
  if (s.find_first_not_of("0123456789+-.eE") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not a number"));
  }
  errno = 0;
  char* end = nullptr;
  const long double v = std::strtold(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) {
    return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not a number"));
  }
  return v;
}

// Shortest text that reads back as `v` (float or double).
template <class T>
std::string FormatShortest(T v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  for (int precision = 6; precision <= std::numeric_limits<T>::max_digits10; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, static_cast<double>(v));
    const T back = std::is_same_v<T, float> ? std::strtof(buf, nullptr) : std::strtod(buf, nullptr);
    if (back == v) break;
  }
  return buf;
}

// `v` as a number and as text: integers in full, floats in shortest form.
template <class T>
void SetNumeric(T v, long double* value, std::string* text) {
  *value = v;
  if constexpr (std::is_floating_point_v<T>) {
    *text = FormatShortest(v);
  } else {
    *text = absl::StrCat(v);
  }
}

// The value of a numeric field (element `index` when repeated) as a number
// and as text.
void NumericValue(const pb::Message& msg, const pb::FieldDescriptor* f, int index,
                  long double* value, std::string* text) {
  const pb::Reflection* r = msg.GetReflection();
  const bool rep = f->is_repeated();
  using F = pb::FieldDescriptor;
  switch (f->cpp_type()) {
    case F::CPPTYPE_INT32:
      return SetNumeric(rep ? r->GetRepeatedInt32(msg, f, index) : r->GetInt32(msg, f), value, text);
    case F::CPPTYPE_INT64:
      return SetNumeric(rep ? r->GetRepeatedInt64(msg, f, index) : r->GetInt64(msg, f), value, text);
    case F::CPPTYPE_UINT32:
      return SetNumeric(rep ? r->GetRepeatedUInt32(msg, f, index) : r->GetUInt32(msg, f), value,
                        text);
    case F::CPPTYPE_UINT64:
      return SetNumeric(rep ? r->GetRepeatedUInt64(msg, f, index) : r->GetUInt64(msg, f), value,
                        text);
    case F::CPPTYPE_FLOAT:
      return SetNumeric(rep ? r->GetRepeatedFloat(msg, f, index) : r->GetFloat(msg, f), value, text);
    case F::CPPTYPE_DOUBLE:
      return SetNumeric(rep ? r->GetRepeatedDouble(msg, f, index) : r->GetDouble(msg, f), value,
                        text);
    default:
      return;
  }
}

absl::Status CheckMessage(const pb::Message& msg, const std::string& prefix) {
  const pb::Descriptor* d = msg.GetDescriptor();
  const pb::Reflection* r = msg.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string path = absl::StrCat(prefix, f->name());
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int j = 0; j < r->FieldSize(msg, f); ++j) {
          RETURN_IF_ERROR(
              CheckMessage(r->GetRepeatedMessage(msg, f, j), absl::StrCat(path, "[", j, "].")));
        }
      } else if (r->HasField(msg, f)) {
        RETURN_IF_ERROR(CheckMessage(r->GetMessage(msg, f), absl::StrCat(path, ".")));
      }
      continue;
    }
    if (!IsNumericField(f)) continue;
    ASSIGN_OR_RETURN(std::optional<OptionRange> range, FieldRange(f));
    const int n = f->is_repeated() ? r->FieldSize(msg, f) : 1;
    for (int j = 0; j < n; ++j) {
      long double v = 0;
      std::string text;
      NumericValue(msg, f, j, &v, &text);
      const std::string name = f->is_repeated() ? absl::StrCat(path, "[", j, "]") : path;
      if (std::isnan(v)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "field '", name, "': nan is ",
            range ? absl::StrCat("outside its range ", range->text) : "not a number"));
      }
      if (range && !range->Contains(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("field '", name, "': ", text, " is outside its range ", range->text));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool OptionRange::Contains(long double v) const {
  if (std::isnan(v)) return false;
  const bool above_lo = lo_closed ? v >= lo : v > lo;
  const bool below_hi = hi_closed ? v <= hi : v < hi;
  return above_lo && below_hi;
}

absl::StatusOr<OptionRange> ParseOptionRange(absl::string_view text) {
  const absl::string_view s = absl::StripAsciiWhitespace(text);
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("range '", text, "': ", why,
                     "; expected an interval such as \"[0, 1]\", \"(0, inf)\" or \"[1, 100)\""));
  };
  if (s.size() < 2) return bad("too short");
  // A bracket as a closed (true) or open (false) end, or none.
  auto end_kind = [](char c, char closed, char open) -> std::optional<bool> {
    if (c == closed) return true;
    if (c == open) return false;
    return std::nullopt;
  };
  const std::optional<bool> lo_closed = end_kind(s.front(), '[', '(');
  if (!lo_closed) return bad("must start with '[' or '('");
  const std::optional<bool> hi_closed = end_kind(s.back(), ']', ')');
  if (!hi_closed) return bad("must end with ']' or ')'");
  OptionRange range;
  range.lo_closed = *lo_closed;
  range.hi_closed = *hi_closed;
  const std::vector<absl::string_view> ends =
      absl::StrSplit(s.substr(1, s.size() - 2), ',');
  if (ends.size() != 2) return bad("needs exactly two ends separated by a comma");
  auto lo = ParseEnd(ends[0], !range.lo_closed, /*upper=*/false);
  if (!lo.ok()) return bad(std::string(lo.status().message()));
  auto hi = ParseEnd(ends[1], !range.hi_closed, /*upper=*/true);
  if (!hi.ok()) return bad(std::string(hi.status().message()));
  range.lo = *lo;
  range.hi = *hi;
  if (range.lo > range.hi ||
      (range.lo == range.hi && !(range.lo_closed && range.hi_closed))) {
    return bad("the interval is empty");
  }
  range.text = std::string(s);
  return range;
}

absl::StatusOr<std::optional<OptionRange>> FieldRange(const pb::FieldDescriptor* field) {
  if (!field->options().HasExtension(resact::range)) return std::optional<OptionRange>();
  auto range = ParseOptionRange(field->options().GetExtension(resact::range));
  if (!range.ok()) {
    return absl::InternalError(
        absl::StrCat("field '", field->full_name(), "': malformed (resact.range) annotation: ",
                     range.status().message()));
  }
  return std::optional<OptionRange>(*std::move(range));
}

bool IsNumericField(const pb::FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64:
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return true;
    default:
      return false;
  }
}

absl::Status CheckOptionRanges(const pb::Message& options) {
  return CheckMessage(options, "");
}

}  // namespace resact
