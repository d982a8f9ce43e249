#include "stages/sim/sim_world.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace resact {

SimRng::SimRng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = x = Mix64(x);
}

uint64_t SimRng::Next() {
  auto rotl = [](uint64_t v, int k) { return (v << k) | (v >> (64 - k)); };
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double SimRng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2 * Uniform() - 1;
    v = 2 * Uniform() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  const double m = std::sqrt(-2 * std::log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return u * m;
}

namespace {
constexpr uint64_t kWorldStream = 0x77;
constexpr uint64_t kUserStream = 0x55;
// LONG_TERM's item attributes: a stream of their own, so the world's other
// draws stay exactly those of STATIC.
constexpr uint64_t kClickbaitStream = 0x63;
}  // namespace

SimWorld::SimWorld(const SimulatorOptions& options) : options_(options) {
  const int d = options_.dim();
  const int n = options_.num_items();
  const int k = std::max(1, std::min(options_.num_topics(), n));
  SimRng rng(Mix64(options_.seed() ^ kWorldStream));
  centroids_.resize(static_cast<size_t>(k) * d);
  for (float& c : centroids_) c = static_cast<float>(std::clamp(0.45 * rng.Normal(), -0.9, 0.9));
  // A global "quality" direction: items along it satisfy everyone a little more.
  std::vector<double> wq(d);
  double norm = 0;
  for (double& w : wq) norm += (w = rng.Normal()) * w;
  for (double& w : wq) w /= std::sqrt(norm);

  items_.dim = d;
  items_.item_id.resize(n);
  items_.embedding.resize(static_cast<size_t>(n) * d);
  quality_.resize(n);
  topic_of_item_.resize(n);
  topic_items_.assign(k, {});
  for (int i = 0; i < n; ++i) {
    items_.item_id[i] = i + 1;
    const int t = i % k;
    topic_of_item_[i] = t;
    topic_items_[t].push_back(i);
    double along = 0;
    for (int c = 0; c < d; ++c) {
      const double x = std::clamp(centroids_[t * d + c] + 0.2 * rng.Normal(), -1.0, 1.0);
      items_.embedding[static_cast<size_t>(i) * d + c] = static_cast<float>(x);
      along += x * wq[c];
    }
    quality_[i] = static_cast<float>(0.4 * rng.Normal() + 0.6 * along);
  }
  if (long_term()) {
    const LongTermOptions& lt = options_.long_term();
    SimRng cb_rng(Mix64(options_.seed() ^ Mix64(kClickbaitStream)));
    std::vector<double> dir(d);
    double dn = 0;
    for (double& w : dir) dn += (w = cb_rng.Normal()) * w;
    clickbait_dir_.resize(d);
    lean_.resize(d);
    for (int c = 0; c < d; ++c) {
      clickbait_dir_[c] = static_cast<float>(dir[c] / std::sqrt(dn));
      lean_[c] = static_cast<float>(lt.behaviour_clickbait_lean() * clickbait_dir_[c]);
    }
    clickbait_.resize(n);
    for (int i = 0; i < n; ++i) {
      double along = 0;
      const float* e = items_.row(i);
      for (int c = 0; c < d; ++c) along += e[c] * clickbait_dir_[c];
      clickbait_[i] =
          static_cast<float>(lt.clickbait_scale() * std::max(0.0, along + 0.1 * cb_rng.Normal()));
    }
  }
  topic_radius_.assign(k, 0.f);
  for (int i = 0; i < n; ++i) {
    const int t = topic_of_item_[i];
    double r = 0;
    for (int c = 0; c < d; ++c) {
      const double diff = items_.embedding[static_cast<size_t>(i) * d + c] - centroids_[t * d + c];
      r += diff * diff;
    }
    topic_radius_[t] = std::max(topic_radius_[t], static_cast<float>(std::sqrt(r)) * 1.0001f + 1e-6f);
  }
  // Serve()'s layout: each topic's items contiguous, in blocks stored
  // dimension-major.
  serve_row_.clear();
  topic_block_.assign(k, 0);
  topic_first_.assign(k + 1, 0);
  size_t floats = 0;
  for (int t = 0; t < k; ++t) {
    topic_block_[t] = floats;
    topic_first_[t] = static_cast<int32_t>(serve_row_.size());
    serve_row_.insert(serve_row_.end(), topic_items_[t].begin(), topic_items_[t].end());
    const size_t blocks = (topic_items_[t].size() + kServeLanes - 1) / kServeLanes;
    floats += blocks * static_cast<size_t>(d) * kServeLanes;
  }
  topic_first_[k] = static_cast<int32_t>(serve_row_.size());
  serve_emb_.assign(floats, 0.f);
  const int bound_topics = std::min(k, kServeBoundTopics);
  serve_centroids_.assign(
      static_cast<size_t>((bound_topics + kServeLanes - 1) / kServeLanes) * d * kServeLanes, 0.f);
  for (int t = 0; t < bound_topics; ++t) {
    float* block = serve_centroids_.data() + static_cast<size_t>(t / kServeLanes) * d * kServeLanes;
    for (int c = 0; c < d; ++c) block[c * kServeLanes + t % kServeLanes] = centroids_[t * d + c];
  }
  for (int t = 0; t < k; ++t) {
    for (size_t j = 0; j < topic_items_[t].size(); ++j) {
      float* block = serve_emb_.data() + topic_block_[t] +
                     (j / kServeLanes) * static_cast<size_t>(d) * kServeLanes;
      const float* e = items_.row(topic_items_[t][j]);
      for (int c = 0; c < d; ++c) block[c * kServeLanes + j % kServeLanes] = e[c];
    }
  }
  // Standardize satisfaction under π_β with a Monte-Carlo sample.
  double sum = 0, sq = 0;
  const int samples = 4000;
  std::vector<float> a(d);
  for (int s = 0; s < samples; ++s) {
    SimUser u = MakeUser(-1 - s);
    SimRng r = UserRng(-1 - s, 1);
    double lp;
    const int32_t item = BehaviourAct(u, r, a.data(), &lp);
    const double raw = RawSatisfaction(u, item);
    sum += raw;
    sq += raw * raw;
  }
  sat_mean_ = sum / samples;
  sat_std_ = std::sqrt(std::max(1e-12, sq / samples - sat_mean_ * sat_mean_));
}

int64_t SimWorld::num_users() const {
  return std::max<int64_t>(1, std::llround(options_.num_users() * options_.scale()));
}

SimRng SimWorld::UserRng(int64_t id, uint64_t stream) const {
  return SimRng(Mix64(options_.seed() ^ Mix64(static_cast<uint64_t>(id) ^ (stream << 56))));
}

SimUser SimWorld::MakeUser(int64_t id) const {
  const int d = options_.dim();
  const int k = static_cast<int>(topic_items_.size());
  SimRng rng = UserRng(id, kUserStream);
  SimUser u;
  u.id = id;
  u.pref.resize(d);
  u.behaviour.resize(d);
  const int fav = static_cast<int>(rng.Next() % static_cast<uint64_t>(k));
  for (int c = 0; c < d; ++c) {
    u.pref[c] = static_cast<float>(0.8 * centroids_[fav * d + c] + 0.3 * rng.Normal());
    u.behaviour[c] = static_cast<float>(std::clamp(
        u.pref[c] + options_.behaviour_knowledge_noise() * rng.Normal(), -1.0, 1.0));
  }
  const double len = std::max(
      1.05, options_.session_length_median() * std::exp(options_.session_length_sigma() * rng.Normal()));
  const double p = 1 - 1 / len;
  u.continue_logit = std::log(p / (1 - p));
  u.return_hours =
      options_.return_hours_median() * std::exp(options_.return_hours_sigma() * rng.Normal());
  u.start_offset_s = rng.Uniform() * 86400;
  return u;
}

namespace {

// Four floats as one vector (GCC/Clang vector extension: SSE on x86-64,
// NEON on ARM, plain scalar code elsewhere).
typedef float Float4 __attribute__((vector_size(16)));
typedef int32_t Int4 __attribute__((vector_size(16)));

// Scores <a, e_j> of one block of 16 items stored dimension-major, as four
// vectors. Each score is accumulated in dimension order, one multiply and one
// add per dimension, exactly as the scalar `s += a[c] * e[c]` loop, so it is
// bit-identical to it; the lanes are independent, so they run as vectors
// (four accumulators keep the adds' latency hidden).
struct BlockScores {
  static constexpr int kLanes = 16;
  Float4 v0, v1, v2, v3;

  BlockScores(const float* a, int d, const float* block) {
    v0 = v1 = v2 = v3 = Float4{0.f, 0.f, 0.f, 0.f};
    for (int c = 0; c < d; ++c, block += kLanes) {
      const Float4 ac = Float4{a[c], a[c], a[c], a[c]};
      Float4 e0, e1, e2, e3;
      std::memcpy(&e0, block, sizeof(Float4));
      std::memcpy(&e1, block + 4, sizeof(Float4));
      std::memcpy(&e2, block + 8, sizeof(Float4));
      std::memcpy(&e3, block + 12, sizeof(Float4));
      v0 += ac * e0;
      v1 += ac * e1;
      v2 += ac * e2;
      v3 += ac * e3;
    }
  }
  // Whether some score is >= x (false for NaN scores, as a scalar compare).
  bool AnyAtLeast(float x) const {
    const Float4 xv = Float4{x, x, x, x};
    const Int4 m = (v0 >= xv) | (v1 >= xv) | (v2 >= xv) | (v3 >= xv);
    return (m[0] | m[1] | m[2] | m[3]) != 0;
  }
  void Store(float* s) const {
    std::memcpy(s, &v0, sizeof(Float4));
    std::memcpy(s + 4, &v1, sizeof(Float4));
    std::memcpy(s + 8, &v2, sizeof(Float4));
    std::memcpy(s + 12, &v3, sizeof(Float4));
  }
};

}  // namespace

int32_t SimWorld::Serve(const float* a) const {
  static_assert(BlockScores::kLanes == kServeLanes && kServeBoundTopics % kServeLanes == 0,
                "Serve()'s layout");
  const int d = options_.dim();
  const int k = static_cast<int>(topic_items_.size());
  double anorm = 0;
  for (int c = 0; c < d; ++c) anorm += static_cast<double>(a[c]) * a[c];
  anorm = std::sqrt(anorm);
  // Upper bound of <a, e> within each topic: <a, c_t> + |a|·radius_t.
  constexpr float kInf = std::numeric_limits<float>::infinity();
  alignas(16) float bound[kServeBoundTopics];
  const int kk = std::min(k, kServeBoundTopics);
  const int kk4 = (kk + 3) / 4 * 4;
  for (int t0 = 0; t0 < kk; t0 += kServeLanes) {
    BlockScores(a, d, serve_centroids_.data() + static_cast<size_t>(t0) * d)
        .Store(bound + t0);
  }
  for (int t = 0; t < kk; ++t) bound[t] += static_cast<float>(anorm) * topic_radius_[t];
  for (int t = kk; t < kk4; ++t) bound[t] = -kInf;
  float best = -1e30f;
  int32_t best_item = 0;
  alignas(16) float s[kServeLanes];
  // Scans topic t; ties go to the lower item row when `ties_to_lower_row`.
  auto scan = [&](int t, bool ties_to_lower_row) {
    const int32_t first = topic_first_[t], n = topic_first_[t + 1] - first;
    const float* block = serve_emb_.data() + topic_block_[t];
    for (int32_t j0 = 0; j0 < n; j0 += kServeLanes, block += d * kServeLanes) {
      const BlockScores scores(a, d, block);
      if (!scores.AnyAtLeast(best)) continue;
      scores.Store(s);
      const int m = std::min<int32_t>(kServeLanes, n - j0);
      for (int j = 0; j < m; ++j) {
        if (!(s[j] >= best)) continue;  // Also skips NaN, as the scalar compare did.
        const int32_t i = serve_row_[first + j0 + j];
        if (s[j] > best || (ties_to_lower_row && i < best_item)) {
          best = s[j];
          best_item = i;
        }
      }
    }
  };
  // Topics in decreasing order of their bound, picked lazily: stop at the
  // first whose bound cannot beat the best item so far. This scans exactly
  // the topics (and in the order) of a full sort by bound, unless two bounds
  // are equal or one is NaN (degenerate actions, e.g. all zero): then the
  // order among ties decides which topics are scanned, and the full sort is
  // done as it always was, so the served item stays the same.
  alignas(16) float left[kServeBoundTopics];  // Bounds of the topics not scanned yet.
  std::copy(bound, bound + kk4, left);
  bool sorted_scan = false;
  for (int x = 0; x < kk; ++x) sorted_scan |= std::isnan(bound[x]);
  while (!sorted_scan) {
    float m4[4] = {-kInf, -kInf, -kInf, -kInf};
    for (int x = 0; x < kk4; x += 4) {
      for (int l = 0; l < 4; ++l) m4[l] = left[x + l] > m4[l] ? left[x + l] : m4[l];
    }
    const float top = std::max(std::max(m4[0], m4[1]), std::max(m4[2], m4[3]));
    if (!(top > best)) break;
    int n4[4] = {0, 0, 0, 0};
    for (int x = 0; x < kk4; x += 4) {
      for (int l = 0; l < 4; ++l) n4[l] += left[x + l] == top ? 1 : 0;
    }
    if (n4[0] + n4[1] + n4[2] + n4[3] > 1) {
      sorted_scan = true;
      break;
    }
    int t = 0;
    while (left[t] != top) ++t;
    left[t] = -kInf;
    scan(t, /*ties_to_lower_row=*/true);
  }
  if (sorted_scan) {
    best = -1e30f;
    best_item = 0;
    int order[kServeBoundTopics];
    for (int t = 0; t < kk; ++t) order[t] = t;
    std::sort(order, order + kk, [&](int x, int y) { return bound[x] > bound[y]; });
    for (int oi = 0; oi < kk; ++oi) {
      const int t = order[oi];
      if (bound[t] <= best) break;
      scan(t, /*ties_to_lower_row=*/true);
    }
  }
  // Topics past the bound table are scanned exhaustively.
  for (int t = kServeBoundTopics; t < k; ++t) scan(t, /*ties_to_lower_row=*/false);
  return best_item;
}

double SimWorld::RawSatisfaction(const SimUser& user, int32_t item) const {
  const float* e = items_.row(item);
  double s = 0;
  for (int c = 0; c < options_.dim(); ++c) s += user.pref[c] * e[c];
  return s + options_.quality_weight() * quality_[item];
}

double SimWorld::Satisfaction(const SimUser& user, int32_t item, SimRng& rng) const {
  return (RawSatisfaction(user, item) - sat_mean_) / sat_std_ +
         options_.satisfaction_noise() * rng.Normal();
}

double SimWorld::ContinueProbability(const SimUser& user, double satisfaction,
                                     double logit_shift) const {
  const double z =
      user.continue_logit + options_.continue_sensitivity() * satisfaction + logit_shift;
  return 1 / (1 + std::exp(-z));
}

double SimWorld::ReturnHours(const SimUser& user, double mean_satisfaction, SimRng& rng,
                             double log_scale) const {
  const double sn = options_.return_noise_sigma();
  const double h = user.return_hours *
                   std::exp(-options_.return_sensitivity() * mean_satisfaction +
                            sn * rng.Normal() - 0.5 * sn * sn + log_scale);
  return std::max(options_.min_return_hours(), h);
}

double SimWorld::RequestGapSeconds(SimRng& rng) const {
  const double g = -options_.request_gap_seconds() * std::log(1 - rng.Uniform());
  return std::min(1500.0, std::max(1.0, g));
}

double SimWorld::BehaviourLogProb(const SimUser& user, const float* action) const {
  const int d = options_.dim();
  const double sd = options_.behaviour_std();
  double q = 0;
  for (int c = 0; c < d; ++c) {
    const double z = (action[c] - BehaviourMean(user, c)) / sd;
    q += z * z;
  }
  return -0.5 * q - d * std::log(sd) - 0.5 * d * std::log(2 * M_PI);
}

int32_t SimWorld::BehaviourAct(const SimUser& user, SimRng& rng, float* action,
                               double* logprob) const {
  const int d = options_.dim();
  for (int c = 0; c < d; ++c) {
    action[c] =
        static_cast<float>(BehaviourMean(user, c) + options_.behaviour_std() * rng.Normal());
  }
  const int32_t item = Serve(action);
  *logprob = BehaviourLogProb(user, items_.row(item));
  return item;
}

std::string SimulatorSourceDescription(const SimulatorOptions& o, int64_t users) {
  return absl::StrCat("simulator, ", users, " users, seed ", o.seed(), ", dynamics ",
                      SimulatorOptions::Dynamics_Name(o.dynamics()));
}

absl::Status CheckSimulatedWith(const std::string& description, const SimulatorOptions& o,
                                const std::string& replay) {
  // A run's description is "stage: what; stage: what" (RunSources).
  absl::string_view sim;
  for (absl::string_view part : absl::StrSplit(description, "; ")) {
    const size_t at = part.find("simulator, ");
    if (at == 0 || (at != absl::string_view::npos && part.substr(at - 2, 2) == ": ")) {
      sim = part.substr(at);
    }
  }
  if (sim.empty()) return absl::OkStatus();
  std::string seed, dynamics;
  for (absl::string_view p : absl::StrSplit(sim, ", ")) {
    if (absl::StartsWith(p, "seed ")) seed = std::string(p.substr(5));
    if (absl::StartsWith(p, "dynamics ")) dynamics = std::string(p.substr(9));
  }
  const std::string want_dynamics = SimulatorOptions::Dynamics_Name(o.dynamics());
  const std::string want_seed = absl::StrCat(o.seed());
  if ((seed.empty() || seed == want_seed) && (dynamics.empty() || dynamics == want_dynamics)) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "replay ", replay, " was simulated in another world (", description,
      ") than this evaluation's (seed ", want_seed, ", dynamics ", want_dynamics,
      "); the evaluator's `sim` block must equal the SimulatorLogSource's, e.g. set both "
      "simulate.sim.dynamics and experiment.simulator_eval.sim.dynamics"));
}

}  // namespace resact
