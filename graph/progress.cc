#include "graph/progress.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace resact {

Progress::Progress() : start_(std::chrono::steady_clock::now()) {}

void Progress::SetTotal(double total, const char* unit) {
  total_.store(total, std::memory_order_relaxed);
  unit_.store(unit, std::memory_order_relaxed);
}

void Progress::AddDone(double d) {
  double cur = done_.load(std::memory_order_relaxed);
  while (!done_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string HumanCount(double n) {
  if (n >= 1e9) return absl::StrFormat("%.2fG", n / 1e9);
  if (n >= 1e6) return absl::StrFormat("%.2fM", n / 1e6);
  if (n >= 1e4) return absl::StrFormat("%.1fk", n / 1e3);
  return absl::StrFormat("%.0f", n);
}

std::string Progress::Line() const {
  double secs = elapsed_seconds();
  double rows = static_cast<double>(this->rows());
  std::string line = absl::StrFormat("%s rows  %s rows/s", HumanCount(rows),
                                     HumanCount(secs > 0 ? rows / secs : 0));
  double total = total_.load(std::memory_order_relaxed);
  double done = done_.load(std::memory_order_relaxed);
  if (total > 0) {
    double frac = std::min(1.0, done / total);
    line += absl::StrFormat("  %.0f%%", 100 * frac);
    if (frac > 0.001 && frac < 1) {
      line += absl::StrFormat(" ETA %.0fs", secs * (1 - frac) / frac);
    }
  }
  const char* phase = phase_.load(std::memory_order_relaxed);
  if (phase != nullptr && phase[0] != '\0') line += absl::StrFormat(" [%s]", phase);
  return line;
}

}  // namespace resact
