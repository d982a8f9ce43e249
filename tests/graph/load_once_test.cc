#include "graph/load_once.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace resact {
namespace {

TEST(LoadOnce, RunsOnceForManyThreadsAndRetriesAfterAFailure) {
  LoadOnce once;
  int calls = 0;
  EXPECT_EQ(once.Ensure([&] { ++calls; return absl::InternalError("disk"); }).message(), "disk");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (once.Ensure([&] { ++calls; return absl::OkStatus(); }).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(calls, 2);  // The failed attempt, then exactly one successful one.
}

}  // namespace
}  // namespace resact
