#include "stages/sim/sim_propensity.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "stages/evaluators/propensity.h"
#include "stages/sim/sim_world.h"
#include "storage/replay_reader.h"

namespace resact {
namespace {

// The users' stream of the propensity draws (the log source uses 2, the
// evaluator's runners 3 to 6).
constexpr uint64_t kPropensityStream = 7;

double Dot(const float* a, const float* b, int d) {
  double s = 0;
  for (int c = 0; c < d; ++c) s += static_cast<double>(a[c]) * b[c];
  return s;
}

}  // namespace

ServePropensities::~ServePropensities() = default;

absl::StatusOr<std::unique_ptr<ServePropensities>> ServePropensities::Create(
    const SimulatorOptions& sim, const ReplayReader& test, uint64_t users, int draws) {
  if (draws < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("serve propensities: draws must be >= 1, got ", draws));
  }
  std::unique_ptr<ServePropensities> p(new ServePropensities());
  p->world_ = std::make_unique<SimWorld>(sim);
  const SimWorld& world = *p->world_;
  p->draws_ = draws;
  p->dim_ = world.dim();
  if (test.action_dim() != p->dim_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "serve propensities: the replay's actions have ", test.action_dim(),
        " floats but the simulated world's embeddings ", p->dim_, ": not a log of this world"));
  }
  users = std::min<uint64_t>(users, test.num_users());
  const uint64_t transitions = users == 0 ? 0 : test.user_transitions(users - 1).end;
  const int d = p->dim_;
  const double sigma = sim.behaviour_std();
  p->z_.resize(users * draws * d);
  p->item_.resize(transitions);
  p->user_.resize(transitions);
  p->behaviour_logp_.resize(transitions);
  const ItemTable& replay_items = test.items();
  std::vector<int32_t> hits(world.items().size());
  std::vector<float> a(d);
  for (uint64_t u = 0; u < users; ++u) {
    const int64_t id = test.user_id(u);
    const SimUser user = world.MakeUser(id);
    SimRng rng = world.UserRng(id, kPropensityStream);
    float* z = p->z_.data() + u * draws * d;
    for (int64_t k = 0; k < static_cast<int64_t>(draws) * d; ++k) {
      z[k] = static_cast<float>(rng.Normal());
    }
    std::fill(hits.begin(), hits.end(), 0);
    for (int j = 0; j < draws; ++j) {
      for (int c = 0; c < d; ++c) {
        a[c] = static_cast<float>(world.BehaviourMean(user, c) + sigma * z[j * d + c]);
      }
      ++hits[world.Serve(a.data())];
    }
    const auto range = test.user_transitions(u);
    for (uint64_t t = range.begin; t < range.end; ++t) {
      const int32_t replay_row = test.item_index(t);
      const int64_t item_id =
          replay_row >= 0 && static_cast<size_t>(replay_row) < replay_items.size()
              ? replay_items.item_id[replay_row]
              : -1;
      const int64_t row = item_id < 0 ? -1 : world.items().Index(item_id);
      if (row < 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "serve propensities: user ", id, "'s request ", t - range.begin, " logs item ",
            item_id, ", which the simulated world (", world.items().size(),
            " items) does not have: not a log of this world"));
      }
      p->item_[t] = static_cast<int32_t>(row);
      p->user_[t] = static_cast<uint32_t>(u);
      p->behaviour_logp_[t] = std::log(ServeProbabilityFromHits(hits[row], draws));
    }
  }
  return p;
}

absl::StatusOr<std::vector<double>> ServePropensities::PolicyLogProb(const float* mean,
                                                                     uint64_t n,
                                                                     double sigma) const {
  if (n > transitions()) {
    return absl::InvalidArgumentError(absl::StrCat("serve propensities: ", n,
                                                   " states asked for, ", transitions(),
                                                   " known"));
  }
  const int d = dim_;
  const SimWorld& world = *world_;
  std::vector<double> out(n);
  std::vector<float> a(d);
  // A draw misses the logged item as soon as one other item scores clearly
  // above it, so each state keeps the last few items that won its draws and
  // tries them first: a low-probability item, the common case, then costs a
  // few dot products per draw instead of a serve. Only a draw that no such
  // item rejects is served in full, so every hit is decided by Serve() itself
  // and the margin keeps a rounding difference from rejecting a draw Serve()
  // would give to the logged item: the counts are those of
  // MonteCarloServeProbability with Serve() (tested).
  constexpr int kCandidates = 4;
  for (uint64_t t = 0; t < n; ++t) {
    const float* z = z_.data() + static_cast<uint64_t>(user_[t]) * draws_ * d;
    const float* m = mean + t * d;
    const int32_t item = item_[t];
    const float* e_item = world.items().row(item);
    int32_t candidate[kCandidates];
    int candidates = 0, next = 0;
    int64_t hits = 0;
    for (int j = 0; j < draws_; ++j) {
      const float* zj = z + static_cast<int64_t>(j) * d;
      for (int c = 0; c < d; ++c) a[c] = static_cast<float>(m[c] + sigma * zj[c]);
      const double s_item = Dot(a.data(), e_item, d);
      bool rejected = false;
      for (int k = 0; k < candidates && !rejected; ++k) {
        const double s = Dot(a.data(), world.items().row(candidate[k]), d);
        rejected = s > s_item + 1e-4 * (1 + std::abs(s) + std::abs(s_item));
      }
      if (rejected) continue;
      const int32_t served = world.Serve(a.data());
      if (served == item) {
        ++hits;
      } else {
        candidate[next] = served;
        next = (next + 1) % kCandidates;
        candidates = std::min(candidates + 1, kCandidates);
      }
    }
    out[t] = std::log(ServeProbabilityFromHits(hits, draws_));
  }
  return out;
}

}  // namespace resact
