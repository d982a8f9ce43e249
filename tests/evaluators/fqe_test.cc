// FQE (stages/evaluators/fqe.h) on a tiny MDP whose value is known: the
// exact Q^π comes from solving (I − γ·P_π)·V = r_π in the test.
#include "stages/evaluators/fqe.h"

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace resact {
namespace {

// Three states (one-hot features) and two actions, a = −0.5 or +0.5.
constexpr int kStates = 3;
const float kAction[2] = {-0.5f, 0.5f};
// r(s, a).
const double kReward[kStates][2] = {{0, 1}, {0.5, 0}, {1, 0.2}};
// P(s' | s, a): s2 with the first action goes to s0 or s1 with 1/2 each.
const double kNext[kStates][2][kStates] = {{{0, 1, 0}, {0, 0, 1}},
                                           {{1, 0, 0}, {0, 0, 1}},
                                           {{0.5, 0.5, 0}, {0, 0, 1}}};
// π(s): the second action in s0, the first in s1 and s2.
const int kPi[kStates] = {1, 0, 0};

class TablePolicy : public Policy {
 public:
  int state_dim() const override { return kStates; }
  int action_dim() const override { return 1; }
  absl::Status Act(const float* states, int64_t n, float* actions) const override {
    for (int64_t i = 0; i < n; ++i) {
      int s = 0;
      for (int k = 1; k < kStates; ++k) {
        if (states[i * kStates + k] > states[i * kStates + s]) s = k;
      }
      actions[i] = kAction[kPi[s]];
    }
    return absl::OkStatus();
  }
};

// Exact Q^π(s, a) = r(s, a) + γ·Σ_s' P(s' | s, a)·V(s').
Eigen::Matrix<double, kStates, 2> ExactQ(double gamma) {
  Eigen::Matrix<double, kStates, kStates> A = Eigen::Matrix<double, kStates, kStates>::Identity();
  Eigen::Matrix<double, kStates, 1> r;
  for (int s = 0; s < kStates; ++s) {
    r(s) = kReward[s][kPi[s]];
    for (int t = 0; t < kStates; ++t) A(s, t) -= gamma * kNext[s][kPi[s]][t];
  }
  const Eigen::Matrix<double, kStates, 1> v = A.fullPivLu().solve(r);
  Eigen::Matrix<double, kStates, 2> q;
  for (int s = 0; s < kStates; ++s) {
    for (int a = 0; a < 2; ++a) {
      q(s, a) = kReward[s][a];
      for (int t = 0; t < kStates; ++t) q(s, a) += gamma * kNext[s][a][t] * v(t);
    }
  }
  return q;
}

// Transitions with uniformly random states and actions (every pair covered).
std::shared_ptr<learners::ArraySource> Data(int n) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> state(0, kStates - 1), action(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  learners::TransitionArrays a;
  a.state_dim = kStates;
  a.action_dim = 1;
  a.session_dim = 0;
  for (int i = 0; i < n; ++i) {
    const int s = state(rng), k = action(rng);
    double x = u(rng);
    int next = kStates - 1;
    for (int t = 0; t < kStates; ++t) {
      if (x < kNext[s][k][t]) {
        next = t;
        break;
      }
      x -= kNext[s][k][t];
    }
    for (int t = 0; t < kStates; ++t) {
      a.state.push_back(t == s ? 1.f : 0.f);
      a.next_state.push_back(t == next ? 1.f : 0.f);
    }
    a.action.push_back(kAction[k]);
    a.r_rt.push_back(static_cast<float>(kReward[s][k]));
    a.r_sl.push_back(0.f);
    a.done.push_back(0.f);
    a.session_end.push_back(1);
  }
  auto source = learners::ArraySource::Create(std::move(a));
  EXPECT_TRUE(source.ok()) << source.status();
  return *source;
}

TEST(Fqe, LearnsTheExactValueOfATinyMdp) {
  const double gamma = 0.8;
  const Eigen::Matrix<double, kStates, 2> exact = ExactQ(gamma);
  FqeOptions o;
  o.set_steps(4000);
  o.set_batch_size(128);
  o.set_gamma(gamma);
  o.set_lr(1e-3);
  o.set_tau(0.02);
  o.set_hidden("64,64");
  TablePolicy pi;
  int64_t last_step = 0;
  auto q = FqeModel::Fit(*Data(3000), pi, "return_time", o, [&](int64_t s) { last_step = s; });
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(last_step, 4000);
  EXPECT_EQ((*q)->steps(), 4000);
  // Every (s, a), the policy's and the other action: within 0.1 of values
  // of 2.4 to 3.3 (the tolerance of this budget; 3%-4%).
  for (int s = 0; s < kStates; ++s) {
    for (int a = 0; a < 2; ++a) {
      float state[kStates] = {0, 0, 0};
      state[s] = 1;
      double v = 0;
      ASSERT_TRUE((*q)->Q(state, &kAction[a], 1, &v).ok());
      EXPECT_NEAR(v, exact(s, a), 0.1) << "s" << s << " a" << a;
    }
  }
}

TEST(Fqe, SameSeedSameModelAndClearErrors) {
  FqeOptions o;
  o.set_steps(50);
  o.set_hidden("16");
  TablePolicy pi;
  auto data = Data(500);
  auto a = FqeModel::Fit(*data, pi, "both", o);
  auto b = FqeModel::Fit(*data, pi, "both", o);
  ASSERT_TRUE(a.ok() && b.ok());
  const float state[kStates] = {0, 1, 0};
  double qa = 0, qb = 0;
  ASSERT_TRUE((*a)->Q(state, &kAction[1], 1, &qa).ok());
  ASSERT_TRUE((*b)->Q(state, &kAction[1], 1, &qb).ok());
  EXPECT_EQ(qa, qb);

  auto bad_task = FqeModel::Fit(*data, pi, "clicks", o);
  ASSERT_FALSE(bad_task.ok());
  EXPECT_NE(bad_task.status().message().find("unknown task 'clicks'"), std::string::npos);
  o.set_hidden("64,x");
  auto bad_hidden = FqeModel::Fit(*data, pi, "both", o);
  ASSERT_FALSE(bad_hidden.ok());
  EXPECT_NE(bad_hidden.status().message().find("option 'fqe.hidden'"), std::string::npos);
  o.set_hidden("16");
  o.set_gamma(1);
  EXPECT_NE(CheckFqeOptions(o).message().find("option 'fqe.gamma'"), std::string::npos);
}

}  // namespace
}  // namespace resact
