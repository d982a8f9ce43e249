#include "stages/evaluators/session_wis.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "stages/evaluators/statistics.h"

namespace resact {

std::vector<TrajectoryValue> SessionWisPerTrajectory(const std::vector<OpeTrajectory>& trajectories,
                                                     const WisOptions& options,
                                                     std::vector<double>* weights) {
  std::vector<TrajectoryValue> values;
  values.reserve(trajectories.size());
  const double log_cap = std::log(options.cap);
  for (const OpeTrajectory& t : trajectories) {
    double wr = 0, w_sum = 0, wl = 0;
    double log_w = 0, session_reward = 0;
    int64_t length = 0, sessions = 0;
    for (size_t i = 0; i < t.reward.size(); ++i) {
      log_w += t.logp_pi[i] - t.logp_beta[i];
      session_reward += t.reward[i];
      ++length;
      if (!t.session_end[i]) continue;
      const double w = std::exp(std::min(log_w, log_cap));
      wr += w * session_reward;
      w_sum += w;
      wl += w * static_cast<double>(length);
      if (weights != nullptr) weights->push_back(w);
      ++sessions;
      session_reward = 0;
      length = 0;
      if (options.horizon == WeightHorizon::kSession) log_w = 0;
    }
    if (sessions == 0) continue;
    TrajectoryValue v;
    v.per_session = w_sum > 0 ? wr / w_sum : 0;
    v.per_request = wl > 0 ? wr / wl : 0;
    values.push_back(v);
  }
  return values;
}

ScaledEstimate SummarizeTrajectoryValues(const std::vector<TrajectoryValue>& values,
                                         int bootstrap, double confidence, uint64_t seed) {
  ScaledEstimate e;
  e.trajectories = static_cast<int64_t>(values.size());
  if (values.empty()) return e;
  std::vector<double> per_request, per_session;
  for (const TrajectoryValue& v : values) {
    per_request.push_back(v.per_request);
    per_session.push_back(v.per_session);
  }
  const double n = static_cast<double>(values.size());
  e.per_request = std::accumulate(per_request.begin(), per_request.end(), 0.0) / n;
  e.per_session = std::accumulate(per_session.begin(), per_session.end(), 0.0) / n;
  // The same seed and size draw the same resamples for both scales.
  BootstrapMeanCi(per_request, bootstrap, confidence, seed, &e.per_request_ci_low,
                  &e.per_request_ci_high);
  BootstrapMeanCi(per_session, bootstrap, confidence, seed, &e.per_session_ci_low,
                  &e.per_session_ci_high);
  return e;
}

ScaledEstimate SessionWis(const std::vector<OpeTrajectory>& trajectories,
                          const WisOptions& options) {
  std::vector<double> weights;
  const std::vector<TrajectoryValue> values =
      SessionWisPerTrajectory(trajectories, options, &weights);
  ScaledEstimate e =
      SummarizeTrajectoryValues(values, options.bootstrap, options.confidence, options.seed);
  e.sessions = static_cast<int64_t>(weights.size());
  WeightStatistics(weights, options.cap, &e.ess, &e.capped_fraction);
  return e;
}

std::vector<double> RequestsPerSession(const std::vector<OpeTrajectory>& trajectories) {
  std::vector<double> out;
  out.reserve(trajectories.size());
  for (const OpeTrajectory& t : trajectories) {
    int64_t sessions = 0, requests = 0, open = 0;
    for (uint8_t end : t.session_end) {
      ++open;
      if (end) {
        ++sessions;
        requests += open;
        open = 0;
      }
    }
    if (sessions > 0) out.push_back(static_cast<double>(requests) / sessions);
  }
  return out;
}

std::vector<TrajectoryValue> WithPerSessionScale(const std::vector<double>& per_request,
                                                 const std::vector<OpeTrajectory>& trajectories) {
  const std::vector<double> rps = RequestsPerSession(trajectories);
  std::vector<TrajectoryValue> values(per_request.size());
  for (size_t i = 0; i < values.size(); ++i) values[i] = {per_request[i], per_request[i] * rps[i]};
  return values;
}

absl::StatusOr<PairedDifference> PairedBootstrap(const std::vector<double>& champion,
                                                 const std::vector<double>& challenger,
                                                 int resamples, double confidence,
                                                 uint64_t seed) {
  if (champion.size() != challenger.size() || champion.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "paired comparison: the champion has values for ", champion.size(),
        " trajectories and the challenger for ", challenger.size(),
        "; both need the same, non-empty set of trajectories"));
  }
  PairedDifference d;
  d.trajectories = static_cast<int64_t>(champion.size());
  std::vector<double> diff(champion.size());
  for (size_t i = 0; i < diff.size(); ++i) diff[i] = challenger[i] - champion[i];
  const double n = static_cast<double>(diff.size());
  d.champion = std::accumulate(champion.begin(), champion.end(), 0.0) / n;
  d.challenger = std::accumulate(challenger.begin(), challenger.end(), 0.0) / n;
  d.difference = std::accumulate(diff.begin(), diff.end(), 0.0) / n;
  BootstrapMeanCi(diff, resamples, confidence, seed, &d.ci_low, &d.ci_high);
  BootstrapMeanCi(champion, resamples, confidence, seed, &d.champion_low, &d.champion_high);
  BootstrapMeanCi(challenger, resamples, confidence, seed, &d.challenger_low, &d.challenger_high);
  return d;
}

}  // namespace resact
