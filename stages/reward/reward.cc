// Reward: the long-term engagement rewards of method.md section 1. For each
// session it computes the return time δ (hours from the session's last
// request to the user's next session start) and the session length η, then
//   r_rt = clip(floor(min(δ_avg^u, δ_75%) / δ), 0, 5)   (0 for a user's last session)
//   r_sl = clip(floor(η / (0.8 · η_avg^u)), 0, 5)
// where δ_avg^u and η_avg^u are the user's means and δ_75% is the 75th
// percentile of all return times in the log (storage/reward_rules.h has the
// formulas, with the optional censoring of returns longer than
// censor_after_days). The percentile needs the whole
// log, so the stage buffers sessions and emits them at Close(). The replay
// places both rewards on the session's last request.
//
// Example:
//   stage {
//     name: "reward" type: "Reward"
//     input_stream: "sessions" output_stream: "rewarded"
//     options { [type.googleapis.com/resact.RewardOptions] { return_percentile: 75 } }
//   }
#include "stages/reward/reward.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "glog/logging.h"

namespace resact {

float ReturnHoursBetween(int64_t end_ms, int64_t start_ms) {
  return static_cast<float>((start_ms - end_ms) / 3.6e6);
}

void ReturnHours(const UserRewardInput& in, float* return_hours) {
  for (size_t s = 0; s < in.sessions; ++s) {
    return_hours[s] = s + 1 < in.sessions ? ReturnHoursBetween(in.end_ms[s], in.start_ms[s + 1])
                                          : std::numeric_limits<float>::quiet_NaN();
  }
}

RewardRule RewardRuleFor(const RewardOptions& options, double return_cap_hours,
                         int64_t reference_ms) {
  RewardRule rule;
  rule.return_cap_hours = return_cap_hours;
  rule.session_length_scale = options.session_length_scale();
  rule.max_reward = options.max_reward();
  rule.censor_after_hours = options.censor_after_days() * 24.0;
  rule.censored = options.censored_value() == RewardOptions::HORIZON
                      ? RewardRule::Censored::kHorizon
                      : RewardRule::Censored::kZero;
  rule.reference_ms = reference_ms;
  return rule;
}

void UserRewards(const UserRewardInput& in, const RewardRule& rule, uint8_t* r_rt,
                 uint8_t* r_sl) {
  SessionRewards(in.start_ms, in.end_ms, in.length, in.sessions, rule, r_rt, r_sl);
}

double Percentile(std::vector<double>& values, double percent) {
  if (values.empty()) return 0;
  const double pos = percent / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const double frac = pos - static_cast<double>(lo);
  std::nth_element(values.begin(), values.begin() + lo, values.end());
  const double a = values[lo];
  if (frac == 0 || lo + 1 >= values.size()) return a;
  const double b = *std::min_element(values.begin() + lo + 1, values.end());
  return a + (b - a) * frac;
}

absl::Status Reward::Init() {
  if (!(options_.return_percentile() >= 0 && options_.return_percentile() <= 100)) {
    return absl::InvalidArgumentError("return_percentile: must be in [0, 100]");
  }
  if (!(options_.session_length_scale() > 0)) {
    return absl::InvalidArgumentError("session_length_scale: must be > 0");
  }
  if (options_.max_reward() < 1 || options_.max_reward() > 255) {
    return absl::InvalidArgumentError("max_reward: must be in 1..255");
  }
  return absl::OkStatus();
}

absl::Status Reward::Open(const StageContext& ctx) {
  ctx_ = &ctx;
  return absl::OkStatus();
}

namespace {
// Per-session start, end and length of a batch.
struct SessionTimes {
  std::vector<int64_t> start, end;
  std::vector<uint64_t> length;
  explicit SessionTimes(const SessionBatch& b) {
    const size_t n = b.num_sessions();
    start.resize(n);
    end.resize(n);
    length.resize(n);
    for (size_t s = 0; s < n; ++s) {
      start[s] = b.ts_ms[b.session_offset[s]];
      end[s] = b.ts_ms[b.session_offset[s + 1] - 1];
      length[s] = b.session_length(s);
    }
  }
  UserRewardInput ForUser(const SessionBatch& b, size_t u) const {
    const size_t s0 = b.user_offset[u];
    return {start.data() + s0, end.data() + s0, length.data() + s0, b.user_offset[u + 1] - s0};
  }
};
}  // namespace

absl::Status Reward::Process(int, const Packet& packet, Emitter&) {
  auto batch = packet.Share<SessionBatch>();
  const SessionBatch& b = *batch;
  SessionTimes times(b);
  std::vector<float> ret(b.num_sessions());
  std::vector<double> deltas;
  deltas.reserve(b.num_sessions());
  for (size_t u = 0; u < b.num_users(); ++u) {
    const UserRewardInput in = times.ForUser(b, u);
    ReturnHours(in, ret.data() + b.user_offset[u]);
    for (size_t s = 0; s + 1 < in.sessions; ++s) {
      deltas.push_back((in.start_ms[s + 1] - in.end_ms[s]) / 3.6e6);
    }
  }
  int64_t last_ms = std::numeric_limits<int64_t>::min();
  for (int64_t t : b.ts_ms) last_ms = std::max(last_ms, t);
  double fsum = 0, fsq = 0;
  for (float f : b.feedback) {
    fsum += f;
    fsq += static_cast<double>(f) * f;
  }
  std::lock_guard<std::mutex> lock(mu_);
  all_return_hours_.insert(all_return_hours_.end(), deltas.begin(), deltas.end());
  gap_seconds_ = b.gap_seconds;
  last_request_ms_ = std::max(last_request_ms_, last_ms);
  feedback_sum_ += fsum;
  feedback_sq_ += fsq;
  feedback_n_ += b.feedback.size();
  users_ += b.num_users();
  sessions_ += b.num_sessions();
  requests_ += b.num_requests();
  pending_.push_back(std::move(batch));
  pending_return_hours_.push_back(std::move(ret));
  ctx_->progress().AddRows(b.num_requests());
  return absl::OkStatus();
}

absl::Status Reward::Close(Emitter& out) {
  auto stats = std::make_shared<RewardStats>();
  stats->users = users_;
  stats->sessions = sessions_;
  stats->requests = requests_;
  stats->return_p75_hours = Percentile(all_return_hours_, options_.return_percentile());
  std::vector<double>().swap(all_return_hours_);
  stats->gap_seconds = gap_seconds_;
  if (feedback_n_ > 0) {
    const double mean = feedback_sum_ / feedback_n_;
    const double var = std::max(0.0, feedback_sq_ / feedback_n_ - mean * mean);
    stats->feedback_mean = mean;
    stats->feedback_std = var > 0 ? std::sqrt(var) : 1.0;
  }
  LOG(INFO) << "[" << ctx_->stage_name() << "] δ_" << options_.return_percentile()
            << "% = " << stats->return_p75_hours << " h over " << sessions_ << " sessions";
  ctx_->progress().SetPhase("emitting");
  const RewardRule rule = RewardRuleFor(options_, stats->return_p75_hours, last_request_ms_);
  for (size_t i = 0; i < pending_.size(); ++i) {
    const SessionBatch& b = *pending_[i];
    auto outb = std::make_shared<SessionBatch>(b);
    pending_[i].reset();
    outb->return_hours = std::move(pending_return_hours_[i]);
    outb->r_rt.resize(outb->num_sessions());
    outb->r_sl.resize(outb->num_sessions());
    outb->reward_stats = stats;
    SessionTimes times(*outb);
    for (size_t u = 0; u < outb->num_users(); ++u) {
      const size_t s0 = outb->user_offset[u];
      UserRewards(times.ForUser(*outb, u), rule, outb->r_rt.data() + s0,
                  outb->r_sl.data() + s0);
    }
    RETURN_IF_ERROR(out.Emit(0, PayloadType::kRewardedSessions,
                             std::shared_ptr<const SessionBatch>(std::move(outb))));
  }
  pending_.clear();
  pending_return_hours_.clear();
  return absl::OkStatus();
}

RESACT_REGISTER_STAGE(Reward);

}  // namespace resact
