// Progress of one stage: rows handled and, where the size is known, how much
// of the total is done. The runner prints a line per active stage every few
// seconds (rows/s, percent, ETA). Thread-safe; updates are relaxed atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

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

}  // namespace resact
