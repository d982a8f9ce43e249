// The per-user simulation state shared by the online evaluation
// (sim_rollout.cc) and the day-by-day population of the closed loop
// (sim_population.cc): a user of the simulated world with its long-term
// state, its random streams and its history s_h built as the training
// pipeline builds it. Internal to stages/sim.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "stages/features/session_history.h"
#include "stages/sim/sim_dynamics.h"
#include "stages/sim/sim_rollout.h"
#include "storage/feature_layout.h"

namespace resact {
namespace sim_internal {

struct Runner {
  SimUser user;
  SimUserState state;          // LONG_TERM's satiation and trust.
  std::vector<float> profile;  // Static user features of s_h (may be empty).
  SimRng rng{0};
  SimRng history_rng{0};  // π_β and the user's responses during the history.
  SimRng chooser_rng{0};  // An ItemChooser's own stream.
  double t = 0, end = 0, history_end = 0;
  bool in_history = false;  // Living the history under π_β (not traced).
  bool finished = false;
  // History before the current session (s_h), as the training pipeline keeps it.
  SessionHistoryBuilder history;
  // Current session.
  std::vector<float> s_h, session_sum;
  double session_start = 0, sat_sum = 0;
  int64_t position = 0, prev_end_ms = 0;
  int32_t prev_item = -1;
  float prev_feedback = 0;
  SimTrace trace;
};

// The log the pipeline trained on has millisecond timestamps (SimulatorLogSource).
inline int64_t ToMs(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1000)); }

// Makes user `id` in its initial state with an empty history of `layout`
// (the caller sets the streams and r.t, then opens the first session).
void MakeRunnerUser(const SimWorld& world, const SimDynamics& dynamics, const FeatureLayout& layout,
                    const SessionStateParams& params, int64_t id, Runner& r);

// Opens the session that starts at r.t.
void StartSession(Runner& r);

// Serves item row `item` to `r`, draws the response on `rng` and moves the
// user on: to the next request, the next session, or the end (r.finished).
// Returns the response (the request's satisfaction).
double Advance(const SimDynamics& dynamics, Runner& r, int32_t item, SimRng& rng);

// The layout of the states the evaluation builds, checked against `policy`
// (may be null).
absl::StatusOr<FeatureLayout> EvalLayout(const SimWorld& world, const SimEvalConfig& c,
                                         const Policy* policy);

// The state a policy acts on for `r`'s next request (layout.state_dim() floats).
void FillState(const SimWorld& world, const SimEvalConfig& c, const FeatureLayout& layout,
               const Runner& r, float* s);

}  // namespace sim_internal
}  // namespace resact
