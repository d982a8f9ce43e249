#pragma once

#include <mutex>
#include <vector>

#include "graph/registry.h"
#include "stages/reward/reward_options.pb.h"
#include "storage/reward_rules.h"

namespace resact {

// Reward values for one user's sessions, given per-session start/end times
// (ms) and lengths. Pure function shared by the stage and its tests.
struct UserRewardInput {
  const int64_t* start_ms;
  const int64_t* end_ms;
  const uint64_t* length;
  size_t sessions;
};
// Hours from `end_ms` to `start_ms`: a return time δ as stored in
// SessionBatch::return_hours (also what the session-history builder uses).
float ReturnHoursBetween(int64_t end_ms, int64_t start_ms);
// Return times in hours (NaN for the last session) → `return_hours`.
void ReturnHours(const UserRewardInput& in, float* return_hours);
// The reward rule of `options` with δ_p = return_cap_hours and, for the
// censoring, the log's newest request `reference_ms`.
RewardRule RewardRuleFor(const RewardOptions& options, double return_cap_hours,
                         int64_t reference_ms);
// Fills r_rt and r_sl for one user (storage/reward_rules.h SessionRewards).
void UserRewards(const UserRewardInput& in, const RewardRule& rule, uint8_t* r_rt,
                 uint8_t* r_sl);
// Percentile with linear interpolation (numpy's default); destroys `values`.
double Percentile(std::vector<double>& values, double percent);

class Reward : public StageWithOptions<RewardOptions> {
 public:
  StreamContract Contract() const override {
    return {{PayloadType::kSessions}, {PayloadType::kRewardedSessions}, /*max_concurrency=*/0};
  }
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;
  absl::Status Close(Emitter& out) override;

 protected:
  absl::Status Init() override;

 private:
  const StageContext* ctx_ = nullptr;
  std::mutex mu_;
  // Buffered input, in arrival order, with return times computed.
  std::vector<std::shared_ptr<const SessionBatch>> pending_;
  std::vector<std::vector<float>> pending_return_hours_;
  std::vector<double> all_return_hours_;
  double feedback_sum_ = 0, feedback_sq_ = 0;
  uint64_t feedback_n_ = 0;
  uint64_t users_ = 0, sessions_ = 0, requests_ = 0;
  double gap_seconds_ = 0;
  int64_t last_request_ms_ = 0;
};

}  // namespace resact
