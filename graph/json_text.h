// Writing JSON lines by hand (evaluations.jsonl, metrics.jsonl): strings
// escaped, numbers that JSON can hold.
#pragma once

#include <cmath>
#include <string>

#include "absl/strings/str_format.h"

namespace resact {

// `s` inside a JSON string: quotes, backslashes and control characters escaped.
inline std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// `v` with 9 significant digits, or null when it is NaN or infinite (JSON
// has no such numbers; readers take null as "no value").
inline std::string JsonNumber(double v) {
  return std::isfinite(v) ? absl::StrFormat("%.9g", v) : std::string("null");
}

}  // namespace resact
