// The simulated world behind the simulator stages: items with embeddings, a
// quality term and (under `dynamics: LONG_TERM`) a clickbait term, users
// with latent preferences and base engagement rates, the users' response to
// what they are served, and the logging policy π_β.
// Everything is a deterministic function of the seed and the user id, so
// users can be simulated in any order or thread. The per-user state that
// LONG_TERM adds (satiation, trust, churn) is in sim_dynamics.h.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

#include "graph/hash.h"
#include "graph/payload.h"
#include "stages/sim/sim_options.pb.h"

namespace resact {

// Small fast PRNG (xoshiro256**) with Gaussian draws (Marsaglia polar).
class SimRng {
 public:
  explicit SimRng(uint64_t seed);
  uint64_t Next();
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Normal();

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0;
};

struct SimUser {
  int64_t id = 0;
  std::vector<float> pref;       // Latent preference u.
  std::vector<float> behaviour;  // μ_β: the platform's estimate of u, in [-1, 1].
  double continue_logit = 0;     // Base continue-session logit.
  double return_hours = 0;       // Base return gap.
  double start_offset_s = 0;     // First session start after the simulation start.
};

class SimWorld {
 public:
  explicit SimWorld(const SimulatorOptions& options);

  const SimulatorOptions& options() const { return options_; }
  int dim() const { return options_.dim(); }
  int64_t num_users() const;
  // The catalogue in action space: item ids 1..num_items.
  const ItemTable& items() const { return items_; }

  SimUser MakeUser(int64_t id) const;
  // The user's static profile features (dim() floats): the platform's
  // estimate μ_β of the user's preference, which π_β acts on. A recommender
  // has such a profile (a user embedding) next to the log, so the log source
  // exports it and the evaluator puts it in the states it builds.
  void Profile(const SimUser& user, float* out) const {
    std::copy(user.behaviour.begin(), user.behaviour.end(), out);
  }
  // A user's own random stream (independent of simulation order).
  SimRng UserRng(int64_t id, uint64_t stream) const;

  bool long_term() const { return options_.dynamics() == SimulatorOptions::LONG_TERM; }
  int num_topics() const { return static_cast<int>(topic_items_.size()); }
  int topic_of(int32_t item) const { return topic_of_item_[item]; }
  double quality(int32_t item) const { return quality_[item]; }
  // cb_i = clickbait_scale·max(0, <e_i, c> + 0.1·ε_i) for a hidden unit
  // direction c (LONG_TERM; 0 under STATIC).
  double clickbait(int32_t item) const { return clickbait_.empty() ? 0.0 : clickbait_[item]; }
  // The hidden clickbait direction c (empty under STATIC).
  const std::vector<float>& clickbait_direction() const { return clickbait_dir_; }

  // Row of the item with the largest <a, e_i> (exact, pruned by topic bounds).
  int32_t Serve(const float* action) const;
  // Satisfaction of `user` with item row `item` (standardized; noise added).
  double Satisfaction(const SimUser& user, int32_t item, SimRng& rng) const;
  // Its expected value (noise left out): (raw − mean)/std, the standardized
  // <u, e_i> + quality_weight·q_i (the oracles of sim_oracles.h use it).
  double ExpectedSatisfaction(const SimUser& user, int32_t item) const {
    return (RawSatisfaction(user, item) - sat_mean_) / sat_std_;
  }
  // The standardization of raw satisfaction under π_β.
  double satisfaction_mean() const { return sat_mean_; }
  double satisfaction_std() const { return sat_std_; }
  // `logit_shift` is added to the continue logit (LONG_TERM's trust; adding
  // 0 leaves STATIC's value unchanged).
  double ContinueProbability(const SimUser& user, double satisfaction,
                             double logit_shift = 0) const;
  // Hours until the next session, given the session's mean satisfaction;
  // `log_scale` is added to the log of the gap before the min_return_hours
  // floor (LONG_TERM's trust).
  double ReturnHours(const SimUser& user, double mean_satisfaction, SimRng& rng,
                     double log_scale = 0) const;
  // Seconds until the next request within a session.
  double RequestGapSeconds(SimRng& rng) const;

  // π_β: samples an action and returns the served item row; `logprob` is
  // log N(e_served; m, σ_β² I), the Gaussian density of the logged action
  // (the served item's embedding). Its mean m is μ_β under STATIC and
  // μ_β + behaviour_clickbait_lean·c under LONG_TERM (BehaviourMean).
  int32_t BehaviourAct(const SimUser& user, SimRng& rng, float* action, double* logprob) const;
  double BehaviourLogProb(const SimUser& user, const float* action) const;
  float BehaviourMean(const SimUser& user, int c) const {
    return lean_.empty() ? user.behaviour[c] : static_cast<float>(user.behaviour[c] + lean_[c]);
  }

 private:
  double RawSatisfaction(const SimUser& user, int32_t item) const;

  SimulatorOptions options_;
  ItemTable items_;
  std::vector<float> quality_;
  std::vector<int32_t> topic_of_item_;
  // LONG_TERM only (empty under STATIC): per-item clickbait, the direction c
  // and π_β's lean·c.
  std::vector<float> clickbait_, clickbait_dir_, lean_;
  std::vector<float> centroids_;             // [topics × d]
  std::vector<std::vector<int32_t>> topic_items_;
  std::vector<float> topic_radius_;
  // Serve()'s scan layout: each topic's items in blocks of kServeLanes, a
  // block stored dimension-major ([d × kServeLanes] floats, zero-padded past
  // the topic's last item), so the scores of a block are one contiguous,
  // vectorizable pass. Topic t's blocks start at float topic_block_[t] and
  // its items at position topic_first_[t] of serve_row_ (position -> row).
  // The first kServeBoundTopics centroids are stored the same way.
  static constexpr int kServeLanes = 16;
  static constexpr int kServeBoundTopics = 256;
  std::vector<float> serve_centroids_;
  std::vector<float> serve_emb_;
  std::vector<int32_t> serve_row_;
  std::vector<size_t> topic_block_;
  std::vector<int32_t> topic_first_;
  // Standardization of raw satisfaction under π_β.
  double sat_mean_ = 0, sat_std_ = 1;
};

// A replay's source_description for a log simulated with `o` (what
// SimulatorLogSource records): "simulator, N users, seed S, dynamics D".
std::string SimulatorSourceDescription(const SimulatorOptions& o, int64_t users);
// OK unless `description`, a replay's source_description, names a simulated
// log of another seed or dynamics than `o`; then FailedPrecondition naming
// both and what to set. Descriptions of other sources, or written before the
// dynamics were recorded, pass.
absl::Status CheckSimulatedWith(const std::string& description, const SimulatorOptions& o,
                                const std::string& replay);

}  // namespace resact
