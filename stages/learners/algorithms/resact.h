// ResAct (Xue et al., ICLR 2023), method.md section 2: a residual actor on top
// of reconstructed online behaviour.
//   1. Reconstruction: a CVAE E(c | s, a_on), D(a | s, c) (cvae.h);
//      L_rec = ||D(s, c) − a_on||² + rec_kl_weight · KL(E || N(0, I)), both
//      terms averaged over the batch and their dimensions as in BCQ and
//      il_cvae. (Summed over dimensions, the KL weighs 2× more against the
//      reconstruction, since the latent is 2 × action dim; on the planted
//      test problem, behaviour σ = 0.5, the CVAE then ignored its latent and
//      the n candidates coincided: spread 0.03 against 0.18 averaged.)
//      Candidates ã_on^i = D(s, c^i), c^i ~ N(0, I).
//   2. Residual actor: z_h = f_h(s_h) ~ N(μ, σ²) (reparameterized in training,
//      μ when acting), z_l = f_l(s_l), Δ = φ · tanh(f_a(concat(z_h, z_l), ã_on)),
//      â = clip(ã_on + Δ, −1, 1).
//   3. Critics: TD3 twin critics, y = r + γ(1 − done)·min(Q1', Q2')(s', â'),
//      â' from the target decoder and target residual actor with one latent
//      sample per next state plus TD3's clipped smoothing noise.
//   4. Updates, every policy_delay critic updates: θ_f = {f_h, f_l, f_a}
//      ascends Q1(s, â) (the residual sees ã_on as a constant, so ∇θ_f is
//      ∇_a Q1 · ∇θ_f f); θ_d (the decoder) takes one step on
//      L_rec − decoder_pg_scale·Q1(s, â) through â's direct dependence on
//      D(s, c), the slides' ∇_a Q1 · ∇θ_d D. The encoder E descends L_rec only.
//      Between delayed steps E and D descend L_rec alone. Targets (critics,
//      the decoder, f) follow by soft updates with τ on delayed steps.
//   5. Expressiveness: a classifier o(r | z_h) over the max_level + 1 session
//      reward levels, cross-entropy on rows with r_session ≥ 0, weight β_exp,
//      trained with f_h.
//   6. Conciseness: KL(p(z_h | s_h) || N(0, I)), weight β_con, on f_h.
//   7. Selection: n candidates per state, the action with the highest Q1.
// s_h = state[:, :session_dim] and s_l = the rest; with session_dim = 0 (a
// warning) or = state_dim the whole state is s_h and f_l is absent. Only learner code includes this header.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "stages/learners/nets/actor_critic.h"
#include "stages/learners/nets/cvae.h"
#include "stages/learners/algorithms/algorithm.h"

namespace resact {
namespace learners {

// Range of the log-std of p(z_h | s_h).
inline constexpr double kSessionLogStdMin = -4.0;
inline constexpr double kSessionLogStdMax = 2.0;

// KL(N(mean, exp(log_std)²) || N(0, I)) per row, summed over the last
// dimension: 0.5 · Σ (mean² + σ² − 1 − 2·log σ), shape [B]. Always ≥ 0, and 0
// at mean 0, log_std 0. The conciseness term.
inline torch::Tensor GaussianKl(const torch::Tensor& mean, const torch::Tensor& log_std) {
  return 0.5 * (mean.pow(2) + (2.0 * log_std).exp() - 1.0 - 2.0 * log_std).sum(-1);
}
inline torch::Tensor ConcisenessKl(const torch::Tensor& mean, const torch::Tensor& log_std) {
  return GaussianKl(mean, log_std);
}

class ResAct : public Algorithm {
 public:
  explicit ResAct(AlgoContext& ctx);

  Metrics Update(const TensorBatch& batch) override;
  torch::Tensor Act(const torch::Tensor& state) override;
  int NumCandidates() const override { return std::max(1, opt_.candidates()); }
  std::pair<torch::Tensor, torch::Tensor> ScoredCandidates(const torch::Tensor& state) override;
  std::vector<std::pair<std::string, torch::nn::Module*>> Modules() override;
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> Optimizers() override;

  // ---- Components, public for tests. `state` is [B × state_dim]. ----

  // n reconstructed candidates per state, D(s, c^i) with c^i ~ N(0, I) from
  // the context's generator: [B × n × action_dim].
  torch::Tensor Candidates(const torch::Tensor& state, int n);
  // p(z_h | s_h): mean and log-std, [B × z_dim] each.
  struct SessionCode {
    torch::Tensor mean;
    torch::Tensor log_std;
  };
  SessionCode EncodeSession(const torch::Tensor& state);
  // z = concat(z_h, z_l) with z_h the mean of p(z_h | s_h) (acting): [B × z_width()].
  torch::Tensor Code(const torch::Tensor& state);
  // Δ = φ · tanh(f_a(z, ã_on)); z [B × z_width()], ã_on [B × action_dim].
  torch::Tensor Residual(const torch::Tensor& z, const torch::Tensor& a_tilde);
  // o(r | z_h): logits over the reward levels, [B × (max_level + 1)].
  torch::Tensor ClassifierLogits(const torch::Tensor& z_h);
  // â = clip(ã + Δ, −1, 1) for candidates [B × n × A] (ã itself when the
  // residual is off): [B × n × A].
  torch::Tensor Improve(const torch::Tensor& state, const torch::Tensor& candidates);
  // Q1(s, a) of candidates [B × n × A]: [B × n].
  torch::Tensor Score(const torch::Tensor& state, const torch::Tensor& actions);

  int z_width() const;
  int latent_dim() const { return cvae_->latent_dim(); }
  const ResActOptions& options() const { return opt_; }

 private:
  torch::Tensor SessionPart(const torch::Tensor& state) const;
  torch::Tensor RequestPart(const torch::Tensor& state) const;
  // z from the given f_h / f_l (means of z_h).
  torch::Tensor CodeWith(torch::nn::Sequential& f_h, torch::nn::Sequential& f_l,
                         const torch::Tensor& state);
  SessionCode EncodeSessionWith(torch::nn::Sequential& f_h, const torch::Tensor& state);
  torch::Tensor ResidualWith(torch::nn::Sequential& f_a, const torch::Tensor& z,
                             const torch::Tensor& a_tilde);

  AlgoContext& ctx_;  // Outlives the algorithm (CreateAlgorithm).
  ResActOptions opt_;
  Td3Options td3_;
  int sh_dim_ = 0;  // Width of s_h.
  int sl_dim_ = 0;  // Width of s_l (0: no f_l).
  int levels_ = 6;

  Cvae cvae_{nullptr};
  Cvae cvae_target_{nullptr};  // Only its decoder is used (D' of the target policy).
  // The decoders of cvae_ and cvae_target_ (the whole CVAEs if cvae.h ever
  // renames its "decoder" submodule).
  std::shared_ptr<torch::nn::Module> decoder_, decoder_target_;
  torch::nn::Sequential f_h_{nullptr}, f_l_{nullptr}, f_a_{nullptr};
  torch::nn::Sequential f_h_target_{nullptr}, f_l_target_{nullptr}, f_a_target_{nullptr};
  torch::nn::Sequential classifier_{nullptr};
  CriticEnsemble critics_;  // Q1, Q2 and their targets.
  StepCounter counter_{nullptr};
  // θ_f = {f_h, f_l, f_a} and o, for one optimizer.
  std::shared_ptr<torch::nn::Module> actor_group_;
  std::unique_ptr<torch::optim::Adam> cvae_opt_, actor_opt_;
};

}  // namespace learners
}  // namespace resact
