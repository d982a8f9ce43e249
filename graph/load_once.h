// A stage's lazy set-up (loading a replay, fitting a model) run once, on the
// first packet that needs it, under a lock, so concurrent Process() calls wait
// for it. A failed attempt is not remembered: the next packet tries again.
//
// Example:
//   LoadOnce load_;  // member
//   RETURN_IF_ERROR(load_.Ensure([&] { return Load(); }));
#pragma once

#include <mutex>

#include "absl/status/status.h"

namespace resact {

class LoadOnce {
 public:
  template <typename Load>
  absl::Status Ensure(Load&& load) {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return absl::OkStatus();
    absl::Status s = load();
    done_ = s.ok();
    return s;
  }

 private:
  std::mutex mu_;
  bool done_ = false;
};

}  // namespace resact
