// Stages registered only in the test binary, for graph tests.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

namespace resact::testing {

// Rows received by each TestSink, by stage name, and payload liveness.
struct TestCounters {
  std::mutex mu;
  std::map<std::string, uint64_t> sink_rows;
  std::atomic<int> live_payloads{0};
  std::atomic<int> max_live_payloads{0};
  void Reset() {
    std::lock_guard<std::mutex> lock(mu);
    sink_rows.clear();
    live_payloads = 0;
    max_live_payloads = 0;
  }
};
TestCounters& Counters();

}  // namespace resact::testing
