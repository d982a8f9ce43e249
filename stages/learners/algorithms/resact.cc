// resact: the paper's method; see resact.h for the equations and the choices
// the slides leave open.
//
// Example (configs/algo_resact.pbtxt):
//   algo: "resact"
//   resact { residual_bound: 0.05 z_dim: 32 candidates: 10
//            expressiveness_weight: 0.1 conciseness_weight: 0.01 }
#include "stages/learners/algorithms/resact.h"

#include <algorithm>

#include "glog/logging.h"
#include "graph/status.h"

namespace resact {
namespace learners {

ResAct::ResAct(AlgoContext& ctx)
    : ctx_(ctx),
      opt_(ctx.options.resact()),
      td3_(ctx.options.resact().td3()),
      critics_(ctx, /*n=*/2) {
  const int state_dim = ctx.state_dim;
  const int action_dim = ctx.action_dim;
  const auto& hidden = ctx.hidden;
  if (ctx.session_dim > 0 && ctx.session_dim < state_dim) {
    sh_dim_ = ctx.session_dim;
    sl_dim_ = state_dim - ctx.session_dim;
  } else {
    if (ctx.session_dim != state_dim) {
      LOG(WARNING) << "resact: session_dim " << ctx.session_dim << " of state_dim " << state_dim
                   << "; the whole state is s_h and there is no f_l";
    }
    sh_dim_ = state_dim;
    sl_dim_ = 0;
  }
  levels_ = ctx.max_level + 1;
  const int z_dim = opt_.z_dim() > 0 ? opt_.z_dim() : 32;

  const int latent = opt_.latent_dim() > 0 ? opt_.latent_dim() : 2 * action_dim;
  cvae_ = Cvae(state_dim, action_dim, latent, hidden);
  cvae_target_ = Cvae(state_dim, action_dim, latent, hidden);
  HardUpdate(*cvae_target_, *cvae_);
  // Only the decoder of the target CVAE is used; soft-update only it.
  auto source = cvae_->named_children();
  auto target = cvae_target_->named_children();
  if (source.contains("decoder") && target.contains("decoder")) {
    decoder_ = source["decoder"];
    decoder_target_ = target["decoder"];
  } else {
    decoder_ = cvae_.ptr();
    decoder_target_ = cvae_target_.ptr();
  }

  f_h_ = MakeMlp(sh_dim_, hidden, 2 * z_dim);
  f_h_target_ = MakeMlp(sh_dim_, hidden, 2 * z_dim);
  HardUpdate(*f_h_target_, *f_h_);
  if (sl_dim_ > 0) {
    f_l_ = MakeMlp(sl_dim_, hidden, z_dim);
    f_l_target_ = MakeMlp(sl_dim_, hidden, z_dim);
    HardUpdate(*f_l_target_, *f_l_);
  }
  f_a_ = MakeMlp(z_width() + action_dim, hidden, action_dim);
  f_a_target_ = MakeMlp(z_width() + action_dim, hidden, action_dim);
  HardUpdate(*f_a_target_, *f_a_);
  classifier_ = MakeMlp(z_dim, hidden, levels_);

  counter_ = StepCounter();

  actor_group_ = std::make_shared<torch::nn::Module>();
  actor_group_->register_module("f_h", f_h_);
  if (f_l_) actor_group_->register_module("f_l", f_l_);
  actor_group_->register_module("f_a", f_a_);
  actor_group_->register_module("classifier", classifier_);

  const double lr = ctx.options.common().lr();
  cvae_opt_ = MakeAdam(*cvae_, lr);
  actor_opt_ = MakeAdam(*actor_group_, lr);
}

int ResAct::z_width() const {
  const int z_dim = opt_.z_dim() > 0 ? opt_.z_dim() : 32;
  return sl_dim_ > 0 ? 2 * z_dim : z_dim;
}

torch::Tensor ResAct::SessionPart(const torch::Tensor& state) const {
  return sl_dim_ > 0 ? state.narrow(1, 0, sh_dim_) : state;
}

torch::Tensor ResAct::RequestPart(const torch::Tensor& state) const {
  return state.narrow(1, sh_dim_, sl_dim_);
}

ResAct::SessionCode ResAct::EncodeSessionWith(torch::nn::Sequential& f_h,
                                              const torch::Tensor& state) {
  auto parts = f_h->forward(SessionPart(state)).chunk(2, 1);
  return {parts[0], parts[1].clamp(kSessionLogStdMin, kSessionLogStdMax)};
}

ResAct::SessionCode ResAct::EncodeSession(const torch::Tensor& state) {
  return EncodeSessionWith(f_h_, state);
}

torch::Tensor ResAct::CodeWith(torch::nn::Sequential& f_h, torch::nn::Sequential& f_l,
                               const torch::Tensor& state) {
  auto z_h = EncodeSessionWith(f_h, state).mean;
  if (sl_dim_ == 0) return z_h;
  return torch::cat({z_h, f_l->forward(RequestPart(state))}, 1);
}

torch::Tensor ResAct::Code(const torch::Tensor& state) { return CodeWith(f_h_, f_l_, state); }

torch::Tensor ResAct::ResidualWith(torch::nn::Sequential& f_a, const torch::Tensor& z,
                                   const torch::Tensor& a_tilde) {
  return opt_.residual_bound() * torch::tanh(f_a->forward(torch::cat({z, a_tilde}, 1)));
}

torch::Tensor ResAct::Residual(const torch::Tensor& z, const torch::Tensor& a_tilde) {
  return ResidualWith(f_a_, z, a_tilde);
}

torch::Tensor ResAct::ClassifierLogits(const torch::Tensor& z_h) {
  return classifier_->forward(z_h);
}

torch::Tensor ResAct::Candidates(const torch::Tensor& state, int n) {
  const int64_t rows = state.size(0);
  auto repeated = state.repeat_interleave(n, 0);
  auto latent = Randn(ctx_, {rows * n, cvae_->latent_dim()}) * opt_.candidate_std();
  return cvae_->Decode(repeated, latent).view({rows, n, ctx_.action_dim});
}

torch::Tensor ResAct::Improve(const torch::Tensor& state, const torch::Tensor& candidates) {
  if (!opt_.use_residual()) return candidates;
  const int64_t rows = candidates.size(0);
  const int64_t n = candidates.size(1);
  auto flat = candidates.reshape({rows * n, ctx_.action_dim});
  auto z = Code(state).repeat_interleave(n, 0);
  return (flat + Residual(z, flat)).clamp(-1.0, 1.0).view({rows, n, ctx_.action_dim});
}

torch::Tensor ResAct::Score(const torch::Tensor& state, const torch::Tensor& actions) {
  const int64_t rows = actions.size(0);
  const int64_t n = actions.size(1);
  auto repeated = state.repeat_interleave(n, 0);
  return critics_.Q(0, repeated, actions.reshape({rows * n, ctx_.action_dim})).view({rows, n});
}

std::pair<torch::Tensor, torch::Tensor> ResAct::ScoredCandidates(const torch::Tensor& state) {
  auto actions = Improve(state, Candidates(state, NumCandidates()));
  return {actions, Score(state, actions)};
}

torch::Tensor ResAct::Act(const torch::Tensor& state) {
  auto [actions, scores] = ScoredCandidates(state);
  auto best = scores.argmax(1);
  return actions.index({torch::arange(state.size(0), torch::kLong), best});
}

Metrics ResAct::Update(const TensorBatch& b) {
  const auto& common = ctx_.options.common();
  const int64_t rows = b.state.size(0);
  const int action_dim = ctx_.action_dim;
  const int latent = cvae_->latent_dim();
  const bool delayed = counter_->Increment() % std::max(1, td3_.policy_delay()) == 0;
  const bool residual = opt_.use_residual();

  // 3. Critics: TD3 target from the target policy π̂'(s') = D'(s', c) + f'.
  Metrics metrics;
  torch::Tensor next_action;
  {
    torch::NoGradGuard no_grad;
    next_action = cvae_target_->Decode(b.next_state, Randn(ctx_, {rows, latent}));
    if (residual) {
      auto z = CodeWith(f_h_target_, f_l_target_, b.next_state);
      next_action = (next_action + ResidualWith(f_a_target_, z, next_action)).clamp(-1.0, 1.0);
    }
    if (td3_.policy_noise() > 0) {
      const double clip = td3_.noise_clip();
      auto noise = (Randn(ctx_, {rows, action_dim}) * td3_.policy_noise()).clamp(-clip, clip);
      next_action = (next_action + noise).clamp(-1.0, 1.0);
    }
  }
  critics_.Update(b, critics_.Target(b, next_action), &metrics);

  // 1. Reconstruction, every step.
  const CvaeImpl::Output out = cvae_->forward(b.state, b.action, Randn(ctx_, {rows, latent}));
  auto recon = torch::mse_loss(out.recon, b.action);
  auto kl = CvaeImpl::Kl(out);
  auto rec_loss = recon + opt_.rec_kl_weight() * kl;
  auto total = rec_loss;
  metrics.push_back({"rec_loss", rec_loss.item<double>()});
  metrics.push_back({"rec_recon", recon.item<double>()});
  metrics.push_back({"rec_kl", kl.item<double>()});

  // 4–6. Delayed policy step: θ_f, o, and θ_d's policy-gradient term.
  const bool train_f = delayed && residual;
  if (delayed) {
    auto a_tilde = cvae_->Decode(b.state, Randn(ctx_, {rows, latent}));
    auto a_const = a_tilde.detach();
    // Forward value ã; gradient to θ_d scaled by decoder_pg_scale.
    auto a_scaled = a_const + opt_.decoder_pg_scale() * (a_tilde - a_const);
    torch::Tensor action = a_scaled;
    if (residual) {
      SessionCode code = EncodeSession(b.state);
      auto z_h = code.mean + code.log_std.exp() * Randn(ctx_, {rows, code.mean.size(1)});
      auto z = sl_dim_ > 0 ? torch::cat({z_h, f_l_->forward(RequestPart(b.state))}, 1) : z_h;
      action = (a_scaled + Residual(z, a_const)).clamp(-1.0, 1.0);
      metrics.push_back({"residual_abs", (action - a_const).abs().mean().item<double>()});

      if (opt_.use_expressiveness() && b.r_session.defined()) {
        auto valid = torch::nonzero((b.r_session >= 0) & (b.r_session < levels_)).squeeze(1);
        torch::Tensor exp_loss = torch::zeros({}, torch::kFloat);
        if (valid.numel() > 0) {
          auto logits = ClassifierLogits(z_h.index_select(0, valid));
          auto labels = b.r_session.index_select(0, valid);
          exp_loss = torch::nn::functional::cross_entropy(logits, labels);
          metrics.push_back(
              {"exp_accuracy", (logits.argmax(1) == labels).to(torch::kFloat).mean().item<double>()});
        }
        total = total + opt_.expressiveness_weight() * exp_loss;
        metrics.push_back({"exp_loss", exp_loss.item<double>()});
      }
      if (opt_.use_conciseness()) {
        auto con = ConcisenessKl(code.mean, code.log_std).mean();
        total = total + opt_.conciseness_weight() * con;
        metrics.push_back({"con_kl", con.item<double>()});
      }
    }
    // −mean Q_1(s, π̂(s)): Q_1 and its action gradient come from the
    // critic's MlpPass (the critic's weights take no gradient); autograd
    // carries g = dL/dπ̂ on through the actor as the surrogate Σ π̂·g.
    const ActorObjective max_q = MaxQ(critics_.Forward(0, b.state, action.detach()));
    const torch::Tensor grad_action = critics_.ActionGrad(0, max_q.grad_q);
    total = total + (action * grad_action).sum();
    metrics.push_back({"actor_loss", max_q.value});
  }

  ZeroGrad(*cvae_opt_);
  if (train_f) ZeroGrad(*actor_opt_);
  total.backward();
  cvae_opt_->step();
  if (train_f) actor_opt_->step();
  if (delayed) {
    const double tau = common.tau();
    critics_.SoftUpdateTargets(tau);
    SoftUpdate(*decoder_target_, *decoder_, tau);
    if (residual) {
      SoftUpdate(*f_h_target_, *f_h_, tau);
      if (f_l_) SoftUpdate(*f_l_target_, *f_l_, tau);
      SoftUpdate(*f_a_target_, *f_a_, tau);
    }
  }
  return metrics;
}

std::vector<std::pair<std::string, torch::nn::Module*>> ResAct::Modules() {
  std::vector<std::pair<std::string, torch::nn::Module*>> modules = {
      {"cvae", cvae_.ptr().get()},
      {"cvae_target", cvae_target_.ptr().get()},
      {"f_h", f_h_.ptr().get()},
      {"f_h_target", f_h_target_.ptr().get()}};
  if (f_l_) {
    modules.push_back({"f_l", f_l_.ptr().get()});
    modules.push_back({"f_l_target", f_l_target_.ptr().get()});
  }
  modules.insert(modules.end(), {{"f_a", f_a_.ptr().get()},
                                 {"f_a_target", f_a_target_.ptr().get()},
                                 {"classifier", classifier_.ptr().get()},
                                 {"updates", counter_.ptr().get()}});
  critics_.AppendModules(&modules);
  return modules;
}

std::vector<std::pair<std::string, torch::optim::Optimizer*>> ResAct::Optimizers() {
  NamedOptimizers out = {{"cvae", cvae_opt_.get()}, {"actor", actor_opt_.get()}};
  critics_.AppendOptimizers(&out);
  return out;
}

RESACT_REGISTER_ALGORITHM("resact", ResAct, 0);

}  // namespace learners
}  // namespace resact
