// Serve probabilities of the logged items in a simulator log (method.md
// section 3, "propensities"). π_β acts a ~ N(m_β(u), σ_β² I) and serves the
// item of largest <a, e_i>, so the probability that it serves the logged item
// i is the mass of i's region, not the density of e_i. Both are estimated by
// Monte Carlo (stages/evaluators/propensity.h) for the test users of a replay
// of the world:
//  - π_β's: m_β depends on the user only, so each user gets one histogram of
//    served items over `draws` actions m_β(u) + σ_β·z_j;
//  - a Gaussian policy's π = N(μ_π(s_t), σ_π² I): at every logged state, the
//    share of the `draws` actions μ_π(s_t) + σ_π·z_j that serve the logged
//    item,
// with the same standard normal draws z_1..z_D per user (its stream 7 of
// SimWorld::UserRng) for both (common
// random numbers: the ratio of the two compares like with like, and a
// policy whose μ_π is m_β and σ_π = σ_β gets every ratio exactly 1).
// Each probability is (hits + 0.5) / (draws + 1).
//
// Cost: draws serves per user for π_β. For a policy, draws × a few dot
// products per logged state, plus a full serve for each draw that the items
// which won the state's earlier draws do not clearly beat the logged item
// with (about hits + the distinct winners). No torch in this header.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "stages/sim/sim_options.pb.h"

namespace resact {

class ReplayReader;
class SimWorld;

class ServePropensities {
 public:
  // For the first `users` users of `test` (a replay of the world `sim`
  // describes; ids as the simulator's log gives them): π_β's log serve
  // probability of every logged item. An error when a logged item or the
  // action dimension is not the world's.
  static absl::StatusOr<std::unique_ptr<ServePropensities>> Create(const SimulatorOptions& sim,
                                                                   const ReplayReader& test,
                                                                   uint64_t users, int draws);
  ~ServePropensities();

  int draws() const { return draws_; }
  uint64_t transitions() const { return behaviour_logp_.size(); }
  // log p̂_β(i_t | u_t), for t < transitions().
  const std::vector<double>& behaviour_logp() const { return behaviour_logp_; }
  // log p̂_π(i_t | s_t) for π = N(mean_t, σ² I): `mean` holds the policy's
  // action at each of the first `n` ≤ transitions() states ([n × dim]).
  absl::StatusOr<std::vector<double>> PolicyLogProb(const float* mean, uint64_t n,
                                                     double sigma) const;

 private:
  ServePropensities() = default;
  std::unique_ptr<SimWorld> world_;
  int draws_ = 0;
  int dim_ = 0;
  std::vector<int32_t> item_;         // The logged item's world row, per transition.
  std::vector<uint32_t> user_;        // Its user (index among the first `users`).
  std::vector<float> z_;              // Per user: draws × dim standard normals.
  std::vector<double> behaviour_logp_;
};

}  // namespace resact
