// bcq: Batch-Constrained deep Q-learning (Fujimoto et al., 2019) for
// continuous actions, method.md section 2.
//   - A CVAE G(a | s) (cvae.h) models the behaviour policy (latent 2 × action
//     dim); L = MSE(D(s, c), a) + 0.5 · KL, the paper's losses and weight.
//   - A perturbation actor ξ(s, a) = Φ · tanh(MLP(s, a)) moves a decoded action
//     by at most Φ per dimension (Φ in units of the [-1, 1] action range's
//     half-width); the action is clip(a + ξ, −1, 1).
//   - Twin critics (CriticEnsemble, actor_critic.h; trained by autograd)
//     with the soft clipped double-Q target over
//     train_candidates decoded and perturbed next actions per next state:
//       y = r + γ(1 − done) · max_i [λ·min(Q1', Q2') + (1 − λ)·max(Q1', Q2')](s', a_i)
//   - The actor ascends Q1(s, ξ(s, G(s))); targets of ξ and the critics follow
//     by soft updates with τ.
//   - Acting decodes act_candidates actions per state, perturbs them, and takes
//     the argmax of Q1. Decoding samples the latent from N(0, I) clipped to
//     ±0.5, as in the paper.
//
// Example (configs/algo_bcq.pbtxt):
//   algo: "bcq"
//   bcq { phi: 0.05 lambda: 0.75 train_candidates: 10 act_candidates: 100 }
#include "graph/status.h"
#include "stages/learners/nets/actor_critic.h"
#include "stages/learners/nets/cvae.h"

namespace resact {
namespace learners {
namespace {

constexpr double kVaeKlWeight = 0.5;  // BCQ paper.
constexpr double kLatentClip = 0.5;   // BCQ paper: decoding latent ∈ [-0.5, 0.5].

int LatentDim(const AlgoContext& ctx) {
  const int l = ctx.options.bcq().latent_dim();
  return l > 0 ? l : 2 * ctx.action_dim;
}

void SetRequiresGrad(torch::nn::Module& module, bool requires_grad) {
  for (auto& p : module.parameters()) p.set_requires_grad(requires_grad);
}

class Bcq : public Algorithm {
 public:
  explicit Bcq(AlgoContext& ctx)
      : ctx_(ctx),
        opt_(ctx.options.bcq()),
        vae_(ctx.state_dim, ctx.action_dim, LatentDim(ctx), ctx.hidden),
        actor_(MakeMlp(ctx.state_dim + ctx.action_dim, ctx.hidden, ctx.action_dim)),
        actor_target_(MakeMlp(ctx.state_dim + ctx.action_dim, ctx.hidden, ctx.action_dim)),
        critics_(ctx, 2) {
    HardUpdate(*actor_target_, *actor_);
    const double lr = ctx.options.common().lr();
    vae_opt_ = MakeAdam(*vae_, lr);
    actor_opt_ = MakeAdam(*actor_, lr);
  }

  Metrics Update(const TensorBatch& b) override {
    const auto& common = ctx_.options.common();
    const int64_t batch = b.state.size(0);

    // Generative model of the behaviour policy.
    const CvaeImpl::Output out =
        vae_->forward(b.state, b.action, Randn(ctx_, {batch, vae_->latent_dim()}));
    auto recon = torch::mse_loss(out.recon, b.action);
    auto kl = CvaeImpl::Kl(out);
    auto vae_loss = recon + kVaeKlWeight * kl;
    ZeroGrad(*vae_opt_);
    vae_loss.backward();
    vae_opt_->step();

    // Critics.
    torch::Tensor y;
    {
      torch::NoGradGuard no_grad;
      const int n = std::max(1, opt_.train_candidates());
      auto next = b.next_state.repeat_interleave(n, 0);
      auto a = Perturb(actor_target_, next, SampleBehaviour(next));
      auto q1 = critics_.TargetQ(0, next, a);
      auto q2 = critics_.TargetQ(1, next, a);
      const double lambda = opt_.lambda();
      auto soft = lambda * torch::min(q1, q2) + (1.0 - lambda) * torch::max(q1, q2);
      auto best = std::get<0>(soft.view({batch, n}).max(1)).view({batch, 1});
      y = b.reward + common.gamma() * (1.0 - b.done) * best;
    }
    torch::Tensor q1;
    const torch::Tensor critic_loss = critics_.AutogradUpdate(b, y, &q1);

    // Perturbation actor.
    torch::Tensor sampled;
    {
      torch::NoGradGuard no_grad;
      sampled = SampleBehaviour(b.state);
    }
    SetRequiresGrad(*critics_.net(0), false);
    auto actor_loss = -critics_.Q(0, b.state, Perturb(actor_, b.state, sampled)).mean();
    ZeroGrad(*actor_opt_);
    actor_loss.backward();
    actor_opt_->step();
    SetRequiresGrad(*critics_.net(0), true);

    critics_.SoftUpdateTargets(common.tau());
    SoftUpdate(*actor_target_, *actor_, common.tau());

    return {{"critic_loss", critic_loss.item<double>()},
            {"actor_loss", actor_loss.item<double>()},
            {"vae_loss", vae_loss.item<double>()},
            {"vae_recon", recon.item<double>()},
            {"vae_kl", kl.item<double>()},
            {"q_mean", q1.mean().item<double>()}};
  }

  int NumCandidates() const override { return std::max(1, opt_.act_candidates()); }
  std::pair<torch::Tensor, torch::Tensor> ScoredCandidates(const torch::Tensor& state) override {
    const int64_t rows = state.size(0);
    const int n = NumCandidates();
    auto repeated = state.repeat_interleave(n, 0);
    auto a = Perturb(actor_, repeated, SampleBehaviour(repeated));
    auto q = critics_.Q(0, repeated, a).view({rows, n});
    return {a.view({rows, n, ctx_.action_dim}), q};
  }

  torch::Tensor Act(const torch::Tensor& state) override {
    auto [a, q] = ScoredCandidates(state);
    auto best = q.argmax(1);
    return a.index({torch::arange(state.size(0), torch::kLong), best});
  }

  NamedModules Modules() override {
    NamedModules out = {{"vae", vae_.ptr().get()},
                        {"actor", actor_.ptr().get()},
                        {"actor_target", actor_target_.ptr().get()}};
    critics_.AppendEachModule(&out);
    return out;
  }
  NamedOptimizers Optimizers() override {
    NamedOptimizers out = {{"vae", vae_opt_.get()}, {"actor", actor_opt_.get()}};
    critics_.AppendOptimizers(&out);
    return out;
  }

 private:
  // Decoded behaviour-like actions, latent ~ N(0, I) clipped to ±kLatentClip.
  torch::Tensor SampleBehaviour(const torch::Tensor& state) {
    auto latent = Randn(ctx_, {state.size(0), vae_->latent_dim()}).clamp(-kLatentClip, kLatentClip);
    return vae_->Decode(state, latent);
  }
  torch::Tensor Perturb(torch::nn::Sequential& actor, const torch::Tensor& state,
                        const torch::Tensor& action) {
    auto xi = opt_.phi() * torch::tanh(actor->forward(torch::cat({state, action}, 1)));
    return (action + xi).clamp(-1.0, 1.0);
  }

  AlgoContext& ctx_;  // Outlives the algorithm (CreateAlgorithm).
  BcqOptions opt_;
  Cvae vae_;
  torch::nn::Sequential actor_, actor_target_;
  CriticEnsemble critics_;  // Q1, Q2 and their targets.
  std::unique_ptr<torch::optim::Adam> vae_opt_, actor_opt_;
};

}  // namespace

RESACT_REGISTER_ALGORITHM("bcq", Bcq, 4);

}  // namespace learners
}  // namespace resact
