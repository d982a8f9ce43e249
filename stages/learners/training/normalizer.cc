#include "stages/learners/training/normalizer.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include "glog/logging.h"
#include "stages/learners/training/transition_source.h"
#include "storage/replay_reader.h"

namespace resact {
namespace learners {
namespace {

constexpr uint64_t kNormalizerSalt = 0x6e6f726d616c697aULL;

torch::Tensor VectorTensor(const std::vector<float>& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {static_cast<int64_t>(v.size())},
                          torch::kFloat32)
      .clone();
}

std::vector<float> TensorVector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

Normalizer::Normalizer(std::vector<float> mean, std::vector<float> std)
    : mean_(std::move(mean)), std_(std::move(std)) {
  CHECK_EQ(mean_.size(), std_.size());
  if (mean_.empty()) return;
  std::vector<float> inv(std_.size());
  for (size_t k = 0; k < std_.size(); ++k) inv[k] = 1.f / std_[k];
  mean_t_ = VectorTensor(mean_);
  inv_std_t_ = VectorTensor(inv);
}

Normalizer Normalizer::Estimate(const TransitionSource& source, int64_t samples, uint64_t seed) {
  const int S = source.state_dim();
  std::vector<double> sum(S, 0.0), sq(S, 0.0);
  std::mt19937_64 rng(seed ^ kNormalizerSalt);
  ReplaySample s;
  std::vector<uint8_t> ends;
  samples = std::max<int64_t>(samples, 1);
  int64_t done = 0;
  while (done < samples) {
    const int n = static_cast<int>(std::min<int64_t>(4096, samples - done));
    source.Sample(n, rng, &s, &ends);
    for (int i = 0; i < n; ++i) {
      const float* row = &s.state[static_cast<size_t>(i) * S];
      for (int k = 0; k < S; ++k) {
        sum[k] += row[k];
        sq[k] += static_cast<double>(row[k]) * row[k];
      }
    }
    done += n;
  }
  std::vector<float> mean(S), std(S);
  for (int k = 0; k < S; ++k) {
    const double m = sum[k] / done;
    const double var = std::max(0.0, sq[k] / done - m * m);
    const double sd = std::sqrt(var);
    mean[k] = static_cast<float>(m);
    std[k] = sd < 1e-6 ? 1.f : static_cast<float>(sd);
  }
  return Normalizer(std::move(mean), std::move(std));
}

torch::Tensor Normalizer::Apply(const torch::Tensor& raw) const {
  if (identity()) return raw.clone();
  return (raw - mean_t_) * inv_std_t_;
}

void Normalizer::Write(torch::serialize::OutputArchive& archive) const {
  if (identity()) return;
  archive.write("state_mean", VectorTensor(mean_), /*is_buffer=*/true);
  archive.write("state_std", VectorTensor(std_), /*is_buffer=*/true);
}

Normalizer Normalizer::Read(torch::serialize::InputArchive& archive) {
  torch::Tensor mean, std;
  if (archive.try_read("state_mean", mean, true) && archive.try_read("state_std", std, true)) {
    return Normalizer(TensorVector(mean), TensorVector(std));
  }
  return Normalizer();
}

}  // namespace learners
}  // namespace resact
