// The per-user simulation state of stages/sim (sim_runner.h).
#include "stages/sim/sim_runner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace resact {
namespace sim_internal {

void MakeRunnerUser(const SimWorld& world, const SimDynamics& dynamics, const FeatureLayout& layout,
                    const SessionStateParams& params, int64_t id, Runner& r) {
  r.user = world.MakeUser(id);
  r.state = dynamics.InitialState();
  if (layout.static_user_dim > 0) {
    r.profile.resize(world.dim());
    world.Profile(r.user, r.profile.data());
  }
  r.history = SessionHistoryBuilder(layout, params);
  r.history.StartUser(r.profile.empty() ? nullptr : r.profile.data());
  r.s_h.resize(layout.session_dim());
  r.session_sum.assign(world.dim(), 0.f);
}

void StartSession(Runner& r) {
  const int64_t start_ms = ToMs(r.t);
  r.history.BeginSession(start_ms, ReturnHoursBetween(r.prev_end_ms, start_ms), r.s_h.data());
  if (!r.in_history) {
    if (r.trace.session_start_ms.empty()) {
      r.trace.start_trust = r.state.trust;
      r.trace.history_sessions = r.history.sessions();
    }
    r.trace.session_start_ms.push_back(start_ms);
  }
  std::fill(r.session_sum.begin(), r.session_sum.end(), 0.f);
  r.session_start = r.t;
  r.sat_sum = 0;
  r.position = 0;
  r.prev_item = -1;
  r.prev_feedback = 0;
}

// Serves item row `item` to `r`, draws the response on `rng` and moves the
// user on: to the next request, the next session, or the end.
double Advance(const SimDynamics& dynamics, Runner& r, int32_t item, SimRng& rng) {
  const SimWorld& world = dynamics.world();
  const double sat = dynamics.Satisfaction(r.user, r.state, item, rng);
  dynamics.Consume(r.state, item);
  const float* e = world.items().row(item);
  for (size_t j = 0; j < r.session_sum.size(); ++j) r.session_sum[j] += e[j];
  r.prev_feedback = static_cast<float>(sat);
  r.history.AddItem(e, &r.prev_feedback);
  r.sat_sum += sat;
  ++r.position;
  r.prev_item = item;
  if (r.position < 200 && rng.Uniform() < dynamics.ContinueProbability(r.user, r.state, sat)) {
    r.t += world.RequestGapSeconds(rng);
    return sat;
  }
  // The session ends.
  r.history.EndSession(static_cast<uint64_t>(r.position));
  r.prev_end_ms = ToMs(r.t);
  if (!r.in_history) {
    r.trace.session_length.push_back(static_cast<uint32_t>(r.position));
    r.trace.session_end_ms.push_back(r.prev_end_ms);
  }
  if (dynamics.EndSession(r.state, rng)) {  // Churned: never returns.
    r.finished = true;
    return sat;
  }
  const double gap = dynamics.ReturnHours(r.user, r.state, r.sat_sum / r.position, rng);
  dynamics.Rest(r.state, gap);
  r.t += gap * 3600;
  // The return into the evaluated days belongs to the history.
  const bool traced = !r.in_history;
  if (r.in_history && r.t >= r.history_end) r.in_history = false;
  if (r.t >= r.end) {
    r.finished = true;
    return sat;
  }
  if (traced) r.trace.return_hours.push_back(gap);
  StartSession(r);
  return sat;
}

// The layout of the states the evaluation builds, checked against `policy`.
absl::StatusOr<FeatureLayout> EvalLayout(const SimWorld& world, const SimEvalConfig& c,
                                         const Policy* policy) {
  const int d = world.dim();
  FeatureLayout layout;
  layout.emb_dim = d;
  layout.static_user_dim = c.static_user_dim;
  layout.engagement_dim = c.engagement_dim;
  if (c.static_user_dim != 0 && c.static_user_dim != d) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the replay's s_h has ", c.static_user_dim,
        " static user features; the simulator's user profiles have ", d));
  }
  if (policy != nullptr &&
      (policy->state_dim() != layout.state_dim() || policy->action_dim() != d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the policy takes states of ", policy->state_dim(), " and gives actions of ",
        policy->action_dim(), " floats, but the simulator has ", layout.state_dim(), " and ", d));
  }
  return layout;
}

// The state a policy acts on for `r`'s next request (layout.state_dim() floats).
void FillState(const SimWorld& world, const SimEvalConfig& c, const FeatureLayout& layout,
               const Runner& r, float* s) {
  std::copy(r.s_h.begin(), r.s_h.end(), s);
  const float fb =
      (r.prev_feedback - static_cast<float>(c.feedback_mean)) / static_cast<float>(c.feedback_std);
  FillRequestFeatures(layout, r.position, (r.t - r.session_start) / 60,
                      r.prev_item >= 0 ? world.items().row(r.prev_item) : nullptr,
                      r.session_sum.data(), fb, s + layout.session_dim());
}

}  // namespace sim_internal
}  // namespace resact
