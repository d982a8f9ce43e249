#include "stages/evaluators/doubly_robust.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace resact {
namespace {

bool HasCompleteSession(const OpeTrajectory& t) {
  return std::find(t.session_end.begin(), t.session_end.end(), 1) != t.session_end.end();
}

// Σ_t h_t = Σ_t (1 − γ^{T−t}) / (1 − γ) (= T(T+1)/2 when γ = 1).
double DiscountedHorizonSum(size_t T, double gamma) {
  double sum = 0, h = 0;
  for (size_t k = 0; k < T; ++k) {  // h of the (k+1)-th request from the end.
    h = 1 + gamma * h;
    sum += h;
  }
  return sum;
}

// How far the inner sums of DR run: γ^K < 1e-9.
size_t Window(double gamma) {
  if (gamma <= 0) return 1;
  return static_cast<size_t>(std::ceil(std::log(1e-9) / std::log(gamma))) + 1;
}

}  // namespace

absl::Status CheckModelValues(const std::vector<OpeTrajectory>& trajectories) {
  for (size_t u = 0; u < trajectories.size(); ++u) {
    const OpeTrajectory& t = trajectories[u];
    if (t.q_logged.size() != t.reward.size() || t.v_pi.size() != t.reward.size()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trajectory ", u, " has ", t.reward.size(), " requests but model values for ",
          t.q_logged.size(), " (Q at the logged action) and ", t.v_pi.size(),
          " (Q at the policy's action): attach the model first"));
    }
  }
  return absl::OkStatus();
}

std::vector<TrajectoryValue> FqePerTrajectory(const std::vector<OpeTrajectory>& trajectories,
                                              double gamma) {
  std::vector<double> per_request;
  per_request.reserve(trajectories.size());
  for (const OpeTrajectory& t : trajectories) {
    if (!HasCompleteSession(t)) continue;
    double v = 0;
    for (double x : t.v_pi) v += x;
    per_request.push_back(v / DiscountedHorizonSum(t.v_pi.size(), gamma));
  }
  return WithPerSessionScale(per_request, trajectories);
}

std::vector<TrajectoryValue> DrPerTrajectory(const std::vector<OpeTrajectory>& trajectories,
                                             double gamma, const WisOptions& options) {
  std::vector<double> per_request;
  per_request.reserve(trajectories.size());
  const double log_cap = std::log(options.cap);
  const size_t window = Window(gamma);
  std::vector<double> delta;
  for (const OpeTrajectory& t : trajectories) {
    if (!HasCompleteSession(t)) continue;
    const size_t T = t.reward.size();
    delta.resize(T);
    for (size_t j = 0; j < T; ++j) {
      const double next = j + 1 < T ? gamma * t.v_pi[j + 1] : 0;
      delta[j] = t.reward[j] + next - t.q_logged[j];
    }
    double total = 0;
    for (size_t s = 0; s < T; ++s) {
      double correction = 0, discount = 1, log_w = 0;
      const size_t end = std::min(T, s + window);
      for (size_t j = s; j < end; ++j) {
        // A new session starts at j: under the session horizon its weights
        // begin there.
        if (j > s && options.horizon == WeightHorizon::kSession && t.session_end[j - 1]) {
          log_w = 0;
        }
        log_w += t.logp_pi[j] - t.logp_beta[j];
        correction += discount * std::exp(std::min(log_w, log_cap)) * delta[j];
        discount *= gamma;
      }
      total += t.v_pi[s] + correction;
    }
    per_request.push_back(total / DiscountedHorizonSum(T, gamma));
  }
  return WithPerSessionScale(per_request, trajectories);
}

}  // namespace resact
