#include "stages/learners/training/transition_source.h"

#include <algorithm>
#include <cstring>

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

}  // namespace learners
}  // namespace resact
