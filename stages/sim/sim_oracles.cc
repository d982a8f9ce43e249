#include "stages/sim/sim_oracles.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace resact {
namespace {

// Expected immediate satisfaction of every item for one user: the per-user
// part once, the satiation term per request.
class GreedyScorer {
 public:
  GreedyScorer(const SimDynamics& dynamics, const SimUser& user) : world_(dynamics.world()) {
    const int n = static_cast<int>(world_.items().item_id.size());
    const LongTermOptions& lt = world_.options().long_term();
    long_term_ = world_.long_term();
    satiation_weight_ = lt.satiation_weight();
    static_.resize(n);
    topic_best_.assign(world_.num_topics(), -1);
    for (int32_t i = 0; i < n; ++i) {
      static_[i] = world_.ExpectedSatisfaction(user, i) +
                   (long_term_ ? lt.clickbait_weight() * world_.clickbait(i) : 0.0);
      int32_t& b = topic_best_[world_.topic_of(i)];
      if (b < 0 || static_[i] > static_[b]) b = i;
    }
  }
  int size() const { return static_cast<int>(static_.size()); }
  double Score(const SimUserState& s, int32_t item) const {
    return long_term_ ? static_[item] - satiation_weight_ * s.satiation[world_.topic_of(item)]
                      : static_[item];
  }
  // The exact argmax of Score (ties to the lower row).
  int32_t Best(const SimUserState& s) const {
    int32_t best = -1;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int32_t i : topic_best_) {
      if (i < 0) continue;
      const double v = Score(s, i);
      if (best < 0 || v > best_score || (v == best_score && i < best)) {
        best = i;
        best_score = v;
      }
    }
    return best;
  }

 private:
  const SimWorld& world_;
  bool long_term_ = false;
  double satiation_weight_ = 0;
  std::vector<double> static_;
  std::vector<int32_t> topic_best_;  // Per topic: its best item by static_.
};

class GreedyUserChooser : public SimUserChooser {
 public:
  GreedyUserChooser(const SimDynamics& dynamics, const SimUser& user) : scorer_(dynamics, user) {}
  int32_t Choose(const SimUserState& state, const SimSessionProgress&, SimRng&) override {
    return scorer_.Best(state);
  }

 private:
  GreedyScorer scorer_;
};

// The true dynamics rolled out from a state: serve an item now, then the
// greedy oracle, for the rest of the session and `sessions` more (see
// LookaheadOracle in the header for the value of a rollout).
class RolloutModel {
 public:
  RolloutModel(const SimDynamics& dynamics, const SimUser& user, const OracleObjective& objective,
               int sessions)
      : dynamics_(dynamics),
        user_(user),
        objective_(objective),
        sessions_(sessions),
        scorer_(dynamics, user),
        base_length_(1 + std::exp(user.continue_logit)) {}

  const GreedyScorer& scorer() const { return scorer_; }

  // The task's reward per request over one rollout that serves `item` now.
  double Rollout(int32_t item, const SimUserState& state, const SimSessionProgress& session,
                 SimRng& rng) const {
    SimUserState s = state;
    int64_t position = session.position;
    double sat_sum = session.sat_sum, requests = 0, reward = 0, hours = 0;
    const OracleObjective& o = objective_;
    int sessions = 0;
    while (true) {
      const double sat = dynamics_.Satisfaction(user_, s, item, rng);
      dynamics_.Consume(s, item);
      ++position;
      sat_sum += sat;
      if (position < 200 && rng.Uniform() < dynamics_.ContinueProbability(user_, s, sat)) {
        item = scorer_.Best(s);
        continue;
      }
      requests += static_cast<double>(position);
      reward += o.w_sl * std::min(position / (o.session_length_scale * base_length_), o.max_reward);
      ++sessions;
      if (dynamics_.EndSession(s, rng)) return reward / requests;  // Churned.
      const double gap = dynamics_.ReturnHours(user_, s, sat_sum / position, rng);
      reward += o.w_rt * std::min(o.return_cap_hours / gap, o.max_reward);
      hours += gap;
      if (sessions > sessions_) break;
      dynamics_.Rest(s, gap);
      position = 0;
      sat_sum = 0;
      item = scorer_.Best(s);
    }
    // Beyond the horizon: the sessions left until the user's end, each worth
    // the rollout's mean reward per session; the trust gained over the
    // rollout adds its effect on the sessions it lasts, since the memory it
    // rests on forgets (1 − trust_step) per request: 1/(1 − (1 − step)^L̂)
    // sessions at the rollout's mean session length L̂.
    const double future = std::max(0.0, session.hours_left - hours) / (hours / sessions);
    const double per_session = reward / sessions, length = requests / sessions;
    const double forget = 1 - std::pow(1 - lt_.trust_step(), length);
    const double lasting = forget > 0 ? std::min(future, 1 / forget) : future;
    const double effect = (o.w_rt * lt_.trust_return() + o.w_sl * lt_.trust_continue()) *
                          (s.trust - state.trust);
    return (reward + future * per_session + lasting * per_session * effect) /
           (requests + future * length);
  }

  const SimDynamics& dynamics_;
  const SimUser user_;
  const OracleObjective objective_;
  const int sessions_;
  GreedyScorer scorer_;
  const double base_length_;  // The user's base mean session length L̄.
  const LongTermOptions& lt_ = dynamics_.world().options().long_term();
};

class LookaheadUserChooser : public SimUserChooser {
 public:
  LookaheadUserChooser(const SimDynamics& dynamics, const SimUser& user,
                       const OracleObjective& objective, const LookaheadParams& params)
      : params_(params), model_(dynamics, user, objective, params.sessions) {}

  int32_t Choose(const SimUserState& state, const SimSessionProgress& session,
                 SimRng& rng) override {
    const int k = std::min(params_.candidates, model_.scorer().size());
    order_.resize(model_.scorer().size());
    std::iota(order_.begin(), order_.end(), 0);
    score_.resize(model_.scorer().size());
    for (int32_t i = 0; i < model_.scorer().size(); ++i) score_[i] = model_.scorer().Score(state, i);
    std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), [&](int32_t a, int32_t b) {
      return score_[a] > score_[b] || (score_[a] == score_[b] && a < b);
    });
    if (k <= 1 || params_.rollouts < 1) return order_[0];
    seeds_.resize(params_.rollouts);
    for (uint64_t& s : seeds_) s = rng.Next();
    // Rollout values of the greedy choice (the top candidate), then of each
    // other candidate on the same random numbers: a candidate replaces the
    // greedy choice only when the lower bound (mean − 2 standard errors) of
    // its paired gain is positive, the largest such bound winning.
    const int r_count = params_.rollouts;
    greedy_values_.resize(r_count);
    for (int r = 0; r < r_count; ++r) {
      SimRng g(seeds_[r]);
      greedy_values_[r] = model_.Rollout(order_[0], state, session, g);
    }
    int32_t best = order_[0];
    double best_bound = 0;
    for (int c = 1; c < k; ++c) {
      double sum = 0, sq = 0;
      for (int r = 0; r < r_count; ++r) {
        SimRng g(seeds_[r]);
        const double d = model_.Rollout(order_[c], state, session, g) - greedy_values_[r];
        sum += d;
        sq += d * d;
      }
      const double mean = sum / r_count;
      const double var =
          r_count > 1 ? std::max(0.0, (sq - r_count * mean * mean) / (r_count - 1)) : 0.0;
      const double bound = mean - 2 * std::sqrt(var / r_count);
      if (bound > best_bound) {
        best_bound = bound;
        best = order_[c];
      }
    }
    return best;
  }

 private:
  const LookaheadParams params_;
  RolloutModel model_;
  std::vector<int32_t> order_;
  std::vector<double> score_;
  std::vector<uint64_t> seeds_;
  std::vector<double> greedy_values_;
};

}  // namespace

std::unique_ptr<SimUserChooser> GreedyOracle::ForUser(const SimUser& user) const {
  return std::make_unique<GreedyUserChooser>(dynamics_, user);
}

std::unique_ptr<SimUserChooser> LookaheadOracle::ForUser(const SimUser& user) const {
  return std::make_unique<LookaheadUserChooser>(dynamics_, user, objective_, params_);
}

struct CandidateValuer::Impl {
  RolloutModel model;
};

CandidateValuer::CandidateValuer(const SimDynamics& dynamics, const SimUser& user,
                                 const OracleObjective& objective, int sessions)
    : impl_(std::make_unique<Impl>(Impl{RolloutModel(dynamics, user, objective, sessions)})) {}

CandidateValuer::~CandidateValuer() = default;

double CandidateValuer::Value(int32_t item, const SimUserState& state,
                              const SimSessionProgress& session,
                              const std::vector<uint64_t>& seeds) const {
  double sum = 0;
  for (uint64_t seed : seeds) {
    SimRng rng(seed);
    sum += impl_->model.Rollout(item, state, session, rng);
  }
  return seeds.empty() ? NAN : sum / static_cast<double>(seeds.size());
}

}  // namespace resact
