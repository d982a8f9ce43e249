// MlpPass and the actor-critic updates built on it give autograd's outputs
// and gradients: the networks' forward, every parameter's gradient and the
// input gradient, and the critic and actor steps of the TD3 family.
#include "stages/learners/nets/mlp_pass.h"

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "stages/learners/nets/actor_critic.h"
#include "stages/learners/nets/gemm.h"

namespace resact {
namespace learners {
namespace {

void ExpectClose(const torch::Tensor& actual, const torch::Tensor& expected,
                 const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what << ": undefined";
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  EXPECT_TRUE(torch::allclose(actual, expected, 1e-4, 1e-6))
      << what << ": max difference " << (actual - expected).abs().max().item<double>();
}

TEST(Gemm, MatMulMatchesTorchForEveryLayout) {
  torch::manual_seed(10);
  const torch::Tensor a = torch::randn({37, 20}), b = torch::randn({20, 9});
  const torch::Tensor expected = torch::mm(a, b);
  ExpectClose(MatMul(a, false, b, false), expected, "a·b");
  ExpectClose(MatMul(a.t().contiguous(), true, b, false), expected, "(aᵀ)ᵀ·b");
  ExpectClose(MatMul(a, false, b.t().contiguous(), true), expected, "a·(bᵀ)ᵀ");
  ExpectClose(MatMul(a.t().contiguous(), true, b.t().contiguous(), true), expected, "both");
  // A column slice keeps its row stride; a transposed view is copied.
  const torch::Tensor wide = torch::randn({20, 15});
  ExpectClose(MatMul(a, false, wide.slice(1, 6), false), torch::mm(a, wide.slice(1, 6)), "slice");
  ExpectClose(MatMul(a.t(), false, a, false), torch::mm(a.t(), a), "view");
  // One-column and one-row products.
  ExpectClose(MatMul(a, false, b.slice(1, 0, 1), false), torch::mm(a, b.slice(1, 0, 1)), "n=1");
  ExpectClose(MatMul(a.slice(0, 0, 1), false, b, false), torch::mm(a.slice(0, 0, 1), b), "m=1");
  EXPECT_EQ(MatMul(a, false, b, false).sizes(), (std::vector<int64_t>{37, 9}));
  EXPECT_GE(GemmThreads(), 1);
}

struct MlpCase {
  int in;
  std::vector<int> hidden;
  int out;
  bool tanh_out;
};

TEST(MlpPass, MatchesAutogradOutputAndGradients) {
  const std::vector<MlpCase> cases = {
      {7, {16, 12}, 1, false},  // a critic: one output unit (matrix-vector path)
      {5, {16}, 3, true},       // an actor: tanh output
      {4, {8, 8, 8}, 2, false},
  };
  torch::manual_seed(11);
  for (const MlpCase& c : cases) {
    SCOPED_TRACE(testing::Message() << "in " << c.in << " out " << c.out);
    torch::nn::Sequential net = MakeMlp(c.in, c.hidden, c.out, c.tanh_out);
    const torch::Tensor x = torch::randn({32, c.in});
    const torch::Tensor upstream = torch::randn({32, c.out});

    // Autograd's reference.
    const torch::Tensor x_leaf = x.clone().requires_grad_();
    const torch::Tensor y_ref = net->forward(x_leaf);
    std::vector<torch::Tensor> inputs = net->parameters();
    inputs.push_back(x_leaf);
    const auto ref = torch::autograd::grad({y_ref}, inputs, {upstream});

    MlpPass pass(net);
    const torch::Tensor y = pass.Forward(x);
    ExpectClose(y, y_ref.detach(), "output");
    EXPECT_FALSE(y.requires_grad());
    const torch::Tensor dx = pass.Backward(upstream, /*param_grads=*/true, /*input_grad=*/true);
    const auto params = net->parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      ExpectClose(params[i].grad(), ref[i], "parameter " + std::to_string(i));
    }
    ExpectClose(dx, ref.back(), "input gradient");
    ExpectClose(pass.Backward(upstream, /*param_grads=*/false, /*input_grad=*/true,
                              /*input_from=*/2),
                ref.back().slice(1, 2), "input gradient from column 2");

    // A second backward adds to the gradients, as autograd accumulates.
    pass.Backward(upstream, /*param_grads=*/true, /*input_grad=*/false);
    for (size_t i = 0; i < params.size(); ++i) {
      ExpectClose(params[i].grad(), 2 * ref[i], "accumulated parameter " + std::to_string(i));
    }
  }
}

TEST(MlpPass, InputGradientOnlyLeavesParametersAlone) {
  torch::manual_seed(12);
  torch::nn::Sequential net = MakeMlp(6, {10}, 1);
  MlpPass pass(net);
  pass.Forward(torch::randn({8, 6}));
  const torch::Tensor dx = pass.Backward(torch::ones({8, 1}), /*param_grads=*/false,
                                         /*input_grad=*/true);
  EXPECT_EQ(dx.sizes(), (std::vector<int64_t>{8, 6}));
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
  EXPECT_FALSE(pass.Backward(torch::ones({8, 1}), true, /*input_grad=*/false).defined());
}

TEST(MlpPass, FollowsParameterUpdates) {
  torch::manual_seed(13);
  torch::nn::Sequential net = MakeMlp(3, {8}, 2), other = MakeMlp(3, {8}, 2);
  MlpPass pass(net);
  const torch::Tensor x = torch::randn({5, 3});
  const torch::Tensor before = pass.Forward(x).clone();
  HardUpdate(*net, *other);  // In place, as optimizer steps and loads are.
  const torch::Tensor after = pass.Forward(x);
  torch::NoGradGuard no_grad;
  ExpectClose(after, other->forward(x), "after the update");
  EXPECT_FALSE(torch::allclose(before, after));
}

AlgoContext SmallContext() {
  AlgoContext ctx;
  ctx.state_dim = 6;
  ctx.action_dim = 3;
  ctx.hidden = {16, 16};
  return ctx;
}

// The parameters of the module appended as `name`.
std::vector<torch::Tensor> Params(const NamedModules& modules, const std::string& name) {
  for (const auto& [n, m] : modules) {
    if (n == name) return m->parameters();
  }
  ADD_FAILURE() << "no module " << name;
  return {};
}

TEST(ActorCritic, CriticUpdateTakesAutogradsGradients) {
  torch::manual_seed(14);
  AlgoContext ctx = SmallContext();
  CriticEnsemble critics(ctx, 2);
  NamedModules modules;
  critics.AppendModules(&modules);
  const std::vector<torch::Tensor> params = Params(modules, "critic");
  TensorBatch b;
  b.state = torch::randn({64, 6});
  b.action = torch::rand({64, 3}) * 2 - 1;
  const torch::Tensor y = torch::randn({64, 1});

  const torch::Tensor ref_loss = torch::mse_loss(critics.Q(0, b.state, b.action), y) +
                                 torch::mse_loss(critics.Q(1, b.state, b.action), y);
  const auto ref = torch::autograd::grad({ref_loss}, params);
  const std::vector<torch::Tensor> before = [&] {
    std::vector<torch::Tensor> out;
    for (const auto& p : params) out.push_back(p.detach().clone());
    return out;
  }();

  Metrics m;
  critics.Update(b, y, &m);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].first, "critic_loss");
  EXPECT_NEAR(m[0].second, ref_loss.item<double>(), 1e-5);
  EXPECT_EQ(m[1].first, "q_mean");
  for (size_t i = 0; i < params.size(); ++i) {
    ExpectClose(params[i].grad(), ref[i], "critic parameter " + std::to_string(i));
    EXPECT_FALSE(torch::equal(params[i], before[i])) << "parameter " << i << " took no step";
  }
}

// The analytic objectives give autograd's values and gradients.
TEST(ActorCritic, ObjectivesMatchAutograd) {
  torch::manual_seed(16);
  const torch::Tensor pi = torch::rand({32, 3}) * 2 - 1;
  const torch::Tensor q = torch::randn({32, 1}) + 0.5;
  const torch::Tensor behaviour = torch::rand({32, 3}) * 2 - 1;
  const torch::Tensor pi_leaf = pi.clone().requires_grad_();
  const torch::Tensor q_leaf = q.clone().requires_grad_();

  const ActorObjective max_q = MaxQ(q);
  const torch::Tensor ref_max_q = -q_leaf.mean();
  EXPECT_NEAR(max_q.value, ref_max_q.item<double>(), 1e-6);
  EXPECT_FALSE(max_q.grad_pi.defined());
  ExpectClose(max_q.grad_q, torch::autograd::grad({ref_max_q}, {q_leaf})[0], "MaxQ dL/dQ");

  Metrics m;
  const ActorObjective bc = MaxQWithBehaviourCloning(pi, q, behaviour, 2.5, &m);
  const torch::Tensor lambda = 2.5 / q_leaf.abs().mean().detach();
  const torch::Tensor ref_bc =
      -lambda * q_leaf.mean() + torch::mse_loss(pi_leaf, behaviour);
  const auto ref = torch::autograd::grad({ref_bc}, {pi_leaf, q_leaf});
  EXPECT_NEAR(bc.value, ref_bc.item<double>(), 1e-5);
  ExpectClose(bc.grad_pi, ref[0], "TD3+BC dL/dpi");
  ExpectClose(bc.grad_q, ref[1], "TD3+BC dL/dQ");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].first, "bc_loss");
  EXPECT_NEAR(m[0].second, torch::mse_loss(pi, behaviour).item<double>(), 1e-6);
  EXPECT_EQ(m[1].first, "lambda");
  EXPECT_NEAR(m[1].second, lambda.item<double>(), 1e-5);
}

TEST(ActorCritic, ActorStepTakesAutogradsGradients) {
  torch::manual_seed(15);
  AlgoContext ctx = SmallContext();
  DeterministicActor actor(ctx);
  CriticEnsemble critics(ctx, 2);
  const std::vector<torch::Tensor> actor_params = actor.net()->parameters();
  NamedModules modules;
  critics.AppendModules(&modules);
  const std::vector<torch::Tensor> critic_params = Params(modules, "critic");
  const torch::Tensor state = torch::randn({64, 6});
  const torch::Tensor behaviour = torch::rand({64, 3}) * 2 - 1;

  // TD3+BC's actor loss through autograd: π(s) enters directly and through Q_1.
  const torch::Tensor pi = actor(state);
  const torch::Tensor q = critics.Q(0, state, pi);
  const torch::Tensor ref_loss =
      -2.5 / q.abs().mean().detach() * q.mean() + torch::mse_loss(pi, behaviour);
  const auto ref = torch::autograd::grad({ref_loss}, actor_params);

  Metrics m;
  const double value =
      ActorStep(actor, critics, state, [&](const torch::Tensor& p, const torch::Tensor& v) {
        return MaxQWithBehaviourCloning(p, v, behaviour, 2.5, &m);
      });
  EXPECT_NEAR(value, ref_loss.item<double>(), 1e-5);
  for (size_t i = 0; i < actor_params.size(); ++i) {
    ExpectClose(actor_params[i].grad(), ref[i], "actor parameter " + std::to_string(i));
  }
  for (const auto& p : critic_params) EXPECT_FALSE(p.grad().defined());
}

}  // namespace
}  // namespace learners
}  // namespace resact
