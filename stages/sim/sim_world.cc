#include "stages/sim/sim_world.h"

#include <algorithm>
#include <numeric>

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

int32_t SimWorld::Serve(const float* a) const {
  const int d = options_.dim();
  const int k = static_cast<int>(topic_items_.size());
  double anorm = 0;
  for (int c = 0; c < d; ++c) anorm += static_cast<double>(a[c]) * a[c];
  anorm = std::sqrt(anorm);
  // Upper bound of <a, e> within each topic: <a, c_t> + |a|·radius_t.
  float bound[256];
  int order[256];
  const int kk = std::min(k, 256);
  for (int t = 0; t < kk; ++t) {
    float s = 0;
    for (int c = 0; c < d; ++c) s += a[c] * centroids_[t * d + c];
    bound[t] = s + static_cast<float>(anorm) * topic_radius_[t];
    order[t] = t;
  }
  std::sort(order, order + kk, [&](int x, int y) { return bound[x] > bound[y]; });
  float best = -1e30f;
  int32_t best_item = 0;
  for (int oi = 0; oi < kk; ++oi) {
    const int t = order[oi];
    if (bound[t] <= best) break;
    for (int32_t i : topic_items_[t]) {
      const float* e = items_.row(i);
      float s = 0;
      for (int c = 0; c < d; ++c) s += a[c] * e[c];
      if (s > best || (s == best && i < best_item)) {
        best = s;
        best_item = i;
      }
    }
  }
  if (k > 256) {  // Topics past the bound table are scanned exhaustively.
    for (int t = 256; t < k; ++t) {
      for (int32_t i : topic_items_[t]) {
        const float* e = items_.row(i);
        float s = 0;
        for (int c = 0; c < d; ++c) s += a[c] * e[c];
        if (s > best) best = s, best_item = i;
      }
    }
  }
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

double SimWorld::ContinueProbability(const SimUser& user, double satisfaction) const {
  const double z = user.continue_logit + options_.continue_sensitivity() * satisfaction;
  return 1 / (1 + std::exp(-z));
}

double SimWorld::ReturnHours(const SimUser& user, double mean_satisfaction, SimRng& rng) const {
  const double sn = options_.return_noise_sigma();
  const double h = user.return_hours *
                   std::exp(-options_.return_sensitivity() * mean_satisfaction +
                            sn * rng.Normal() - 0.5 * sn * sn);
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
    const double z = (action[c] - user.behaviour[c]) / sd;
    q += z * z;
  }
  return -0.5 * q - d * std::log(sd) - 0.5 * d * std::log(2 * M_PI);
}

int32_t SimWorld::BehaviourAct(const SimUser& user, SimRng& rng, float* action,
                               double* logprob) const {
  const int d = options_.dim();
  for (int c = 0; c < d; ++c) {
    action[c] = static_cast<float>(user.behaviour[c] + options_.behaviour_std() * rng.Normal());
  }
  const int32_t item = Serve(action);
  *logprob = BehaviourLogProb(user, items_.row(item));
  return item;
}

}  // namespace resact
