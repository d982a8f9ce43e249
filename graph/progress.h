// Progress of one stage: rows handled and, where the size is known, how much
// of the total is done. Thread-safe; updates are relaxed atomics.
//
// ProgressDisplay shows the stages still working every few seconds (rows/s,
// percent, ETA): on a terminal one line rewritten in place, elsewhere one
// plain line per interval.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace resact {

class Progress {
 public:
  Progress();
  // Rows handled so far (added to by Process/Generate/Close).
  void AddRows(uint64_t n) { rows_.fetch_add(n, std::memory_order_relaxed); }
  // Known total amount of work in `unit` (e.g. bytes of input); optional.
  void SetTotal(double total, const char* unit);
  // Work done so far, in the unit of SetTotal.
  void SetDone(double done) { done_.store(done, std::memory_order_relaxed); }
  void AddDone(double d);
  // A short phase label shown on the progress line ("sorting", "writing").
  void SetPhase(const char* phase) { phase_.store(phase, std::memory_order_relaxed); }

  uint64_t rows() const { return rows_.load(std::memory_order_relaxed); }
  // Whether the stage has started working: rows > 0, a total or a phase set.
  bool started() const;
  // One line: "12.3M rows  4.10M rows/s  45% ETA 3s [sorting]". `elapsed_s`
  // is the stage's running time.
  std::string Line() const;
  double elapsed_seconds() const;

 private:
  std::chrono::steady_clock::time_point start_;
  std::atomic<uint64_t> rows_{0};
  std::atomic<double> total_{0};
  std::atomic<double> done_{0};
  std::atomic<const char*> unit_{""};
  std::atomic<const char*> phase_{""};
};

// "12.3M", "950k", "12".
std::string HumanCount(double n);

// What the display is told about one stage at an update.
struct StageProgress {
  std::string name;
  std::string line;      // Progress::Line().
  bool started = false;  // Progress::started().
  // The stage's work is over: a source's Generate() returned, another stage's
  // Close() returned.
  bool done = false;
};

// Writes progress updates of a run. Shown are the stages started and not done,
// in the order given, as "[name] line" joined with " | ".
//  - Plain mode (not a terminal): each Update writes one line
//    "progress  12.3s  [ingest] 1.20M rows  480k rows/s  45% ETA 3s | [...]\n"
//    in a single write; nothing when no stage is active.
//  - Terminal mode: each Update rewrites one line in place ("\r", the text
//    cut to width - 1 columns so it never wraps, then erase-line "\x1b[K").
//    Clear() erases it; call it before writing anything else (the runner does
//    before its summary). Lines that others (glog) write meanwhile are not
//    coordinated with and may interleave with the progress line.
// Not thread-safe: one reporter thread calls it.
class ProgressDisplay {
 public:
  // Writes to `out`, e.g. stderr.
  ProgressDisplay(FILE* out, bool terminal, int width = kDefaultWidth);
  // Appends to `*sink` (for tests).
  ProgressDisplay(std::string* sink, bool terminal, int width = kDefaultWidth);
  // For stderr: terminal when isatty(STDERR_FILENO), width from the terminal
  // (TIOCGWINSZ), kDefaultWidth when unknown.
  static ProgressDisplay ForStderr();

  static constexpr int kDefaultWidth = 100;

  bool terminal() const { return terminal_; }
  int width() const { return width_; }

  // One update at `elapsed_s` seconds into the run.
  void Update(double elapsed_s, const std::vector<StageProgress>& stages);
  // Terminal mode: erases the progress line if one is shown. Plain: nothing.
  void Clear();
  // Writes `line` and a newline, after clearing the progress line.
  void WriteLine(const std::string& line);

 private:
  void Write(const std::string& text);

  FILE* out_ = nullptr;
  std::string* sink_ = nullptr;
  bool terminal_ = false;
  int width_ = kDefaultWidth;
  bool shown_ = false;  // A terminal progress line is on screen.
};

}  // namespace resact
