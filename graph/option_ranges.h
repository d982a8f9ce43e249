// Range checks of numeric options. Every numeric field of an options message
// carries a `(resact.range)` annotation (graph/option_range.proto), e.g.
//   optional double gap_seconds = 1 [default = 1800, (resact.range) = "[1, 315360000]"];
// and CheckOptionRanges() rejects a value outside it, and any NaN, before a
// stage sees its options.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace resact {

// An interval of the real line. long double holds every int64 and uint64
// exactly, so integer fields are compared without rounding.
struct OptionRange {
  long double lo = 0;
  long double hi = 0;
  bool lo_closed = true;  // '[' (true) or '(' (false).
  bool hi_closed = true;  // ']' (true) or ')' (false).
  std::string text;       // As written, trimmed: "[1, 315360000]".

  // False for NaN.
  bool Contains(long double v) const;
};

// Parses "[lo, hi]", "(lo, hi)", "[lo, hi)" or "(lo, hi]". The ends are
// numbers; "inf" and "-inf" are allowed only at an open (round) end. The
// interval must not be empty. Errors are InvalidArgument and say what is
// wrong.
absl::StatusOr<OptionRange> ParseOptionRange(absl::string_view text);

// The field's `(resact.range)`: nullopt when it has none; Internal naming the
// field when it does not parse.
absl::StatusOr<std::optional<OptionRange>> FieldRange(
    const google::protobuf::FieldDescriptor* field);

// Whether the field is int32/int64/uint32/uint64 (any encoding), float or
// double: the fields that take a range.
bool IsNumericField(const google::protobuf::FieldDescriptor* field);

// Checks every numeric field of `options` (the effective value of a singular
// field, its default when unset; every element of a repeated one), recursing
// into set sub-messages. NaN is always an error; a value outside the field's
// range is InvalidArgument:
//   field 'gap_seconds': 1e+16 is outside its range [1, 315360000]
// with the dotted path for nested fields ("ncis.max_test_users") and
// "name[i]" for repeated elements. A malformed range is Internal.
absl::Status CheckOptionRanges(const google::protobuf::Message& options);

}  // namespace resact
