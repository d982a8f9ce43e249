#include "stages/learners/training/transition_source.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "graph/status.h"
#include "storage/replay_reader.h"

namespace resact {
namespace learners {
namespace {

// The train split of a replay store, through its reader.
class ReplayTransitionSource : public TransitionSource {
 public:
  explicit ReplayTransitionSource(std::unique_ptr<ReplayReader> reader)
      : reader_(std::move(reader)) {}
  int state_dim() const override { return reader_->state_dim(); }
  int action_dim() const override { return reader_->action_dim(); }
  int session_dim() const override { return reader_->session_dim(); }
  uint64_t size() const override { return reader_->num_transitions(); }
  void Sample(int n, std::mt19937_64& rng, ReplaySample* out,
              std::vector<uint8_t>* session_end) const override {
    reader_->Sample(n, rng, 1.f, 0.f, out);
    session_end->resize(n);
    for (int i = 0; i < n; ++i) {
      (*session_end)[i] = reader_->last_in_session(out->transition[i]) ? 1 : 0;
    }
  }

 private:
  std::unique_ptr<ReplayReader> reader_;
};

// dst[i] = the row transitions[i] of the row-major `src` of `width` columns.
template <class T>
void GatherRows(const std::vector<T>& src, int width, const std::vector<uint64_t>& transitions,
                std::vector<T>* dst) {
  const size_t w = static_cast<size_t>(width);
  dst->resize(transitions.size() * w);
  for (size_t i = 0; i < transitions.size(); ++i) {
    std::memcpy(&(*dst)[i * w], &src[transitions[i] * w], sizeof(T) * w);
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<ArraySource>> ArraySource::Create(TransitionArrays a) {
  const uint64_t n = a.size();
  if (a.state_dim <= 0 || a.action_dim <= 0 || a.session_dim < 0 ||
      a.session_dim > a.state_dim) {
    return absl::InvalidArgumentError("ArraySource: bad dimensions");
  }
  if (n == 0) return absl::InvalidArgumentError("ArraySource: no transitions");
  if (a.state.size() != n * a.state_dim || a.next_state.size() != n * a.state_dim ||
      a.action.size() != n * a.action_dim || a.r_sl.size() != n || a.done.size() != n ||
      a.session_end.size() != n) {
    return absl::InvalidArgumentError("ArraySource: array sizes disagree");
  }
  return std::shared_ptr<ArraySource>(new ArraySource(std::move(a)));
}

void ArraySource::Sample(int n, std::mt19937_64& rng, ReplaySample* out,
                         std::vector<uint8_t>* session_end) const {
  std::uniform_int_distribution<uint64_t> pick(0, a_.size() - 1);
  out->size = n;
  out->state_dim = a_.state_dim;
  out->action_dim = a_.action_dim;
  out->transition.resize(n);
  for (int i = 0; i < n; ++i) out->transition[i] = pick(rng);
  const std::vector<uint64_t>& t = out->transition;
  GatherRows(a_.state, a_.state_dim, t, &out->state);
  GatherRows(a_.next_state, a_.state_dim, t, &out->next_state);
  GatherRows(a_.action, a_.action_dim, t, &out->action);
  GatherRows(a_.r_rt, 1, t, &out->r_rt);
  GatherRows(a_.r_sl, 1, t, &out->r_sl);
  GatherRows(a_.r_rt, 1, t, &out->reward);
  GatherRows(a_.done, 1, t, &out->done);
  GatherRows(a_.session_end, 1, t, session_end);
}

absl::StatusOr<std::shared_ptr<const TransitionSource>> LoadReplaySource(
    const std::string& dir, int64_t memory_budget_mb) {
  ReplayReaderOptions o;
  o.split = ReplaySplit::kTrain;
  o.memory_budget_bytes = static_cast<uint64_t>(std::max<int64_t>(memory_budget_mb, 1)) << 20;
  ASSIGN_OR_RETURN(std::unique_ptr<ReplayReader> reader, ReplayReader::Load(dir, o));
  if (reader->num_transitions() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("replay store ", dir, " has no train transitions"));
  }
  return std::shared_ptr<const TransitionSource>(new ReplayTransitionSource(std::move(reader)));
}

ReplayWindowSource::~ReplayWindowSource() = default;
int ReplayWindowSource::state_dim() const { return reader_->state_dim(); }
int ReplayWindowSource::action_dim() const { return reader_->action_dim(); }
int ReplayWindowSource::session_dim() const { return reader_->session_dim(); }
uint64_t ReplayWindowSource::size() const { return reader_->num_transitions(); }

absl::StatusOr<std::shared_ptr<const ReplayWindowSource>> ReplayWindowSource::Load(
    const std::string& dir, const ReplayWindowOptions& options) {
  if (!(options.half_life_days >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("replay window: half_life_days is ", options.half_life_days, ", must be >= 0"));
  }
  ReplayReaderOptions o;
  o.split = ReplaySplit::kTrain;
  o.memory_budget_bytes = static_cast<uint64_t>(std::max<int64_t>(options.memory_budget_mb, 1))
                          << 20;
  o.min_session_start_ms = options.min_session_start_ms;
  std::shared_ptr<ReplayWindowSource> w(new ReplayWindowSource());
  ASSIGN_OR_RETURN(w->reader_, ReplayReader::Load(dir, o));
  const ReplayReader& r = *w->reader_;
  const uint64_t n = r.num_transitions();
  if (n == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "replay store ", dir, " has no train transitions in the window (sessions from ",
        options.min_session_start_ms, " ms)"));
  }
  int64_t newest = std::numeric_limits<int64_t>::min();
  for (uint64_t t = 0; t < n; ++t) newest = std::max(newest, r.ts_ms(t));
  constexpr int64_t kDayMs = 86400000;
  std::vector<uint32_t> age(n);
  for (uint64_t t = 0; t < n; ++t) {
    age[t] = static_cast<uint32_t>((newest - r.ts_ms(t)) / kDayMs);
    if (age[t] >= w->day_counts_.size()) w->day_counts_.resize(age[t] + 1, 0);
    ++w->day_counts_[age[t]];
  }
  // Counting sort by age.
  w->age_first_.assign(w->day_counts_.size() + 1, 0);
  for (size_t a = 0; a < w->day_counts_.size(); ++a) {
    w->age_first_[a + 1] = w->age_first_[a] + w->day_counts_[a];
  }
  w->by_age_.resize(n);
  std::vector<uint64_t> next(w->age_first_.begin(), w->age_first_.end() - 1);
  for (uint64_t t = 0; t < n; ++t) w->by_age_[next[age[t]]++] = t;
  double total = 0;
  for (size_t a = 0; a < w->day_counts_.size(); ++a) {
    const double weight =
        options.half_life_days > 0 ? std::exp2(-static_cast<double>(a) / options.half_life_days)
                                   : 1.0;
    total += weight * static_cast<double>(w->day_counts_[a]);
    w->cumulative_.push_back(total);
  }
  return std::shared_ptr<const ReplayWindowSource>(std::move(w));
}

std::vector<double> ReplayWindowSource::day_shares() const {
  std::vector<double> share(cumulative_.size());
  for (size_t a = 0; a < share.size(); ++a) {
    share[a] = (cumulative_[a] - (a ? cumulative_[a - 1] : 0.0)) / cumulative_.back();
  }
  return share;
}

void ReplayWindowSource::Sample(int n, std::mt19937_64& rng, ReplaySample* out,
                                std::vector<uint8_t>* session_end) const {
  std::uniform_real_distribution<double> u(0.0, cumulative_.back());
  std::vector<uint64_t>& t = out->transition;
  t.resize(n);
  for (int i = 0; i < n; ++i) {
    // The age by its weight, then a transition of that age uniformly.
    const size_t a = std::min<size_t>(
        std::upper_bound(cumulative_.begin(), cumulative_.end(), u(rng)) - cumulative_.begin(),
        cumulative_.size() - 1);
    std::uniform_int_distribution<uint64_t> pick(age_first_[a], age_first_[a + 1] - 1);
    t[i] = by_age_[pick(rng)];
  }
  reader_->Assemble(t.data(), n, 1.f, 0.f, out);
  session_end->resize(n);
  for (int i = 0; i < n; ++i) {
    (*session_end)[i] = reader_->last_in_session(t[i]) ? 1 : 0;
  }
}

}  // namespace learners
}  // namespace resact
