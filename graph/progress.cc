#include "graph/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

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

bool Progress::started() const {
  const char* phase = phase_.load(std::memory_order_relaxed);
  return rows() > 0 || total_.load(std::memory_order_relaxed) > 0 ||
         (phase != nullptr && phase[0] != '\0');
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

namespace {

// "45s", "12m05s", "3h20m".
std::string HumanSeconds(double s) {
  if (s < 120) return absl::StrFormat("%.0fs", s);
  const int64_t m = static_cast<int64_t>(s / 60);
  if (m < 120) return absl::StrFormat("%dm%02ds", m, static_cast<int64_t>(s) % 60);
  return absl::StrFormat("%dh%02dm", m / 60, m % 60);
}

}  // namespace

std::string Progress::Line() const {
  double secs = elapsed_seconds();
  double rows = static_cast<double>(this->rows());
  double total = total_.load(std::memory_order_relaxed);
  double done = done_.load(std::memory_order_relaxed);
  // A stage that counts its work only in the unit of its total ("3 of 40
  // cells") shows that instead of rows.
  std::string line = rows == 0 && total > 0
                         ? absl::StrFormat("%s of %s %s", HumanCount(done), HumanCount(total),
                                           unit_.load(std::memory_order_relaxed))
                         : absl::StrFormat("%s rows  %s rows/s", HumanCount(rows),
                                           HumanCount(secs > 0 ? rows / secs : 0));
  if (total > 0) {
    double frac = std::min(1.0, done / total);
    line += absl::StrFormat("  %.0f%%", 100 * frac);
    if (frac > 0.001 && frac < 1) {
      line += absl::StrFormat(" ETA %s", HumanSeconds(secs * (1 - frac) / frac));
    }
  }
  const char* phase = phase_.load(std::memory_order_relaxed);
  if (phase != nullptr && phase[0] != '\0') line += absl::StrFormat(" [%s]", phase);
  return line;
}

namespace {
constexpr char kEraseLine[] = "\x1b[K";
}  // namespace

ProgressDisplay::ProgressDisplay(FILE* out, bool terminal, int width)
    : out_(out), terminal_(terminal), width_(width > 1 ? width : kDefaultWidth) {}

ProgressDisplay::ProgressDisplay(std::string* sink, bool terminal, int width)
    : sink_(sink), terminal_(terminal), width_(width > 1 ? width : kDefaultWidth) {}

ProgressDisplay ProgressDisplay::ForStderr() {
  const bool tty = isatty(STDERR_FILENO) == 1;
  int width = kDefaultWidth;
  struct winsize ws;
  if (tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) width = ws.ws_col;
  return ProgressDisplay(stderr, tty, width);
}

void ProgressDisplay::Write(const std::string& text) {
  if (sink_ != nullptr) {
    sink_->append(text);
    return;
  }
  if (out_ == nullptr) return;
  fwrite(text.data(), 1, text.size(), out_);
  fflush(out_);
}

void ProgressDisplay::Update(double elapsed_s, const std::vector<StageProgress>& stages) {
  std::vector<std::string> parts;
  for (const StageProgress& s : stages) {
    if (!s.started || s.done) continue;
    parts.push_back(absl::StrCat("[", s.name, "] ", s.line));
  }
  if (parts.empty()) {
    Clear();
    return;
  }
  std::string text = absl::StrFormat("progress  %.1fs  %s", elapsed_s, absl::StrJoin(parts, " | "));
  if (!terminal_) {
    Write(text + "\n");
    return;
  }
  // Leave the last column free: a line that fills it wraps on some terminals.
  if (static_cast<int>(text.size()) > width_ - 1) text.resize(width_ - 1);
  Write(absl::StrCat("\r", text, kEraseLine));
  shown_ = true;
}

void ProgressDisplay::Clear() {
  if (!terminal_ || !shown_) return;
  Write(absl::StrCat("\r", kEraseLine));
  shown_ = false;
}

void ProgressDisplay::WriteLine(const std::string& line) {
  if (terminal_ && shown_) {
    Write(absl::StrCat("\r", kEraseLine, line, "\n"));
    shown_ = false;
    return;
  }
  Write(line + "\n");
}

}  // namespace resact
