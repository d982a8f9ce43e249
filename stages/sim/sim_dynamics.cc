#include "stages/sim/sim_dynamics.h"

#include <algorithm>
#include <cmath>

namespace resact {

SimUserState SimDynamics::InitialState() const {
  SimUserState s;
  if (!world_.long_term()) return s;
  s.satiation.assign(world_.num_topics(), 0.0);
  s.trust = lt_.trust_initial();
  // The memory whose trust is trust_initial (a bound maps to a finite m).
  const double span = lt_.trust_max() - lt_.trust_min();
  const double p = span > 0 ? std::clamp((s.trust - lt_.trust_min()) / span, 1e-9, 1 - 1e-9) : 0.5;
  s.trust_memory = lt_.trust_center() + std::log(p / (1 - p)) / lt_.trust_slope();
  return s;
}

double SimDynamics::Satisfaction(const SimUser& user, const SimUserState& s, int32_t item,
                                 SimRng& rng) const {
  const double sat = world_.Satisfaction(user, item, rng);
  if (!world_.long_term()) return sat;
  return sat + lt_.clickbait_weight() * world_.clickbait(item) -
         lt_.satiation_weight() * s.satiation[world_.topic_of(item)];
}

void SimDynamics::Consume(SimUserState& s, int32_t item) const {
  if (!world_.long_term()) return;
  const double keep = 1 - lt_.satiation_decay();
  for (double& x : s.satiation) x *= keep;
  double& t = s.satiation[world_.topic_of(item)];
  t += lt_.satiation_gain() * (1 - t);
  if (lt_.trust_step() <= 0) return;  // Trust stays where it is.
  s.trust_memory += lt_.trust_step() *
                    (world_.quality(item) - world_.clickbait(item) - s.trust_memory);
  s.trust = lt_.trust_min() + (lt_.trust_max() - lt_.trust_min()) /
                                  (1 + std::exp(-lt_.trust_slope() *
                                                (s.trust_memory - lt_.trust_center())));
}

void SimDynamics::Rest(SimUserState& s, double hours) const {
  if (!world_.long_term()) return;
  const double f = std::exp(-std::log(2.0) * hours / lt_.satiation_half_life_hours());
  for (double& x : s.satiation) x *= f;
}

double SimDynamics::ContinueProbability(const SimUser& user, const SimUserState& s,
                                        double satisfaction) const {
  if (!world_.long_term()) return world_.ContinueProbability(user, satisfaction);
  return world_.ContinueProbability(user, satisfaction,
                                    lt_.continue_logit_offset() +
                                        lt_.trust_continue() * (s.trust - lt_.trust_initial()));
}

double SimDynamics::ReturnHours(const SimUser& user, const SimUserState& s,
                                double mean_satisfaction, SimRng& rng) const {
  if (!world_.long_term()) return world_.ReturnHours(user, mean_satisfaction, rng);
  // The base gap's log-deviation from the median, scaled by
  // return_spread_scale: trust spreads π_β's users' gaps in its place.
  const double spread = (lt_.return_spread_scale() - 1) *
                        std::log(user.return_hours / world_.options().return_hours_median());
  return world_.ReturnHours(user, mean_satisfaction, rng,
                            lt_.return_log_offset() + spread -
                                lt_.trust_return() * (s.trust - lt_.trust_initial()));
}

double SimDynamics::ChurnProbability(const SimUserState& s) const {
  if (!world_.long_term() || !lt_.churn()) return 0;
  const double span = lt_.trust_max() - lt_.trust_min();
  const double low = span > 0 ? (lt_.trust_max() - s.trust) / span : 1;
  return lt_.churn_hazard() * std::clamp(low, 0.0, 1.0);
}

bool SimDynamics::EndSession(SimUserState& s, SimRng& rng) const {
  if (!world_.long_term() || !lt_.churn()) return false;
  if (rng.Uniform() < ChurnProbability(s)) s.churned = true;
  return s.churned;
}

}  // namespace resact
