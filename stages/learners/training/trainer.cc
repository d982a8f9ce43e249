#include "stages/learners/training/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "graph/fault.h"
#include "graph/files.h"
#include "graph/memory.h"
#include "stages/learners/policy/torch_policy.h"

namespace resact {
namespace learners {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Keeps the sampler's stream apart from the weight and noise streams.
constexpr uint64_t kSamplerSalt = 0x5bd1e9955bd1e995ULL;
constexpr uint64_t kNormalizerSalt = 0x6e6f726d616c697aULL;

std::string Ctx(const std::string& algo, const std::string& what) {
  return absl::StrCat(algo, ": ", what);
}

class ReplaySource : public TransitionSource {
 public:
  explicit ReplaySource(std::unique_ptr<ReplayReader> reader) : reader_(std::move(reader)) {}
  int state_dim() const override { return reader_->state_dim(); }
  int action_dim() const override { return reader_->action_dim(); }
  int session_dim() const override { return reader_->session_dim(); }
  uint64_t size() const override { return reader_->num_transitions(); }
  void Sample(int n, std::mt19937_64& rng, ReplaySample* out,
              std::vector<uint8_t>* session_end) const override {
    reader_->Sample(n, rng, 1.f, 0.f, out);
    session_end->resize(n);
    for (int i = 0; i < n; ++i) {
      (*session_end)[i] = reader_->last_in_session(out->transition[i]) ? 1 : 0;
    }
  }

 private:
  std::unique_ptr<ReplayReader> reader_;
};

torch::Tensor VectorTensor(const std::vector<float>& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {static_cast<int64_t>(v.size())},
                          torch::kFloat32)
      .clone();
}

std::vector<float> TensorVector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Runs `fn`, turning a LibTorch or standard exception into a status.
template <class Fn>
absl::Status Guard(const std::string& prefix, Fn&& fn) {
  try {
    return fn();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(prefix, e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(prefix, e.what()));
  }
}

}  // namespace

// ---- Sources ----

absl::StatusOr<std::shared_ptr<ArraySource>> ArraySource::Create(TransitionArrays a) {
  const uint64_t n = a.size();
  if (a.state_dim <= 0 || a.action_dim <= 0 || a.session_dim < 0 ||
      a.session_dim > a.state_dim) {
    return absl::InvalidArgumentError("ArraySource: bad dimensions");
  }
  if (n == 0) return absl::InvalidArgumentError("ArraySource: no transitions");
  if (a.state.size() != n * a.state_dim || a.next_state.size() != n * a.state_dim ||
      a.action.size() != n * a.action_dim || a.r_sl.size() != n || a.done.size() != n ||
      a.session_end.size() != n) {
    return absl::InvalidArgumentError("ArraySource: array sizes disagree");
  }
  return std::shared_ptr<ArraySource>(new ArraySource(std::move(a)));
}

void ArraySource::Sample(int n, std::mt19937_64& rng, ReplaySample* out,
                         std::vector<uint8_t>* session_end) const {
  const int S = a_.state_dim, A = a_.action_dim;
  std::uniform_int_distribution<uint64_t> pick(0, a_.size() - 1);
  out->size = n;
  out->state_dim = S;
  out->action_dim = A;
  out->transition.resize(n);
  out->state.resize(static_cast<size_t>(n) * S);
  out->next_state.resize(static_cast<size_t>(n) * S);
  out->action.resize(static_cast<size_t>(n) * A);
  out->r_rt.resize(n);
  out->r_sl.resize(n);
  out->reward.resize(n);
  out->done.resize(n);
  session_end->resize(n);
  for (int i = 0; i < n; ++i) {
    const uint64_t t = pick(rng);
    out->transition[i] = t;
    std::memcpy(&out->state[static_cast<size_t>(i) * S], &a_.state[t * S], sizeof(float) * S);
    std::memcpy(&out->next_state[static_cast<size_t>(i) * S], &a_.next_state[t * S],
                sizeof(float) * S);
    std::memcpy(&out->action[static_cast<size_t>(i) * A], &a_.action[t * A], sizeof(float) * A);
    out->r_rt[i] = a_.r_rt[t];
    out->r_sl[i] = a_.r_sl[t];
    out->reward[i] = a_.r_rt[t];
    out->done[i] = a_.done[t];
    (*session_end)[i] = a_.session_end[t];
  }
}

absl::StatusOr<std::shared_ptr<const TransitionSource>> LoadReplaySource(
    const std::string& dir, int64_t memory_budget_mb) {
  ReplayReaderOptions o;
  o.split = ReplaySplit::kTrain;
  o.memory_budget_bytes = static_cast<uint64_t>(std::max<int64_t>(memory_budget_mb, 1)) << 20;
  ASSIGN_OR_RETURN(std::unique_ptr<ReplayReader> reader, ReplayReader::Load(dir, o));
  if (reader->num_transitions() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("replay store ", dir, " has no train transitions"));
  }
  return std::shared_ptr<const TransitionSource>(new ReplaySource(std::move(reader)));
}

// ---- Tasks and batches ----

const char* TaskName(LearnerOptions::Task task) {
  switch (task) {
    case LearnerOptions::SESSION_LENGTH:
      return "session_length";
    case LearnerOptions::BOTH:
      return "both";
    case LearnerOptions::RETURN_TIME:
    default:
      return "return_time";
  }
}

std::pair<float, float> TaskWeights(LearnerOptions::Task task) {
  switch (task) {
    case LearnerOptions::SESSION_LENGTH:
      return {0.f, 1.f};
    case LearnerOptions::BOTH:
      return {0.5f, 0.5f};
    case LearnerOptions::RETURN_TIME:
    default:
      return {1.f, 0.f};
  }
}

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

TensorBatch MakeTensorBatch(const ReplaySample& sample, const std::vector<uint8_t>& session_end,
                            LearnerOptions::Task task, double reward_scale, int max_level,
                            const Normalizer& normalizer) {
  const int64_t B = sample.size, S = sample.state_dim, A = sample.action_dim;
  const auto f32 = torch::kFloat32;
  TensorBatch b;
  b.state = normalizer.Apply(torch::from_blob(const_cast<float*>(sample.state.data()), {B, S}, f32));
  b.next_state =
      normalizer.Apply(torch::from_blob(const_cast<float*>(sample.next_state.data()), {B, S}, f32));
  b.action =
      torch::from_blob(const_cast<float*>(sample.action.data()), {B, A}, f32).clamp(-1.0, 1.0);
  b.done = torch::from_blob(const_cast<float*>(sample.done.data()), {B, 1}, f32).clone();
  b.reward = torch::empty({B, 1}, f32);
  b.r_session = torch::empty({B}, torch::kInt64);
  const auto [w_rt, w_sl] = TaskWeights(task);
  float* r = b.reward.data_ptr<float>();
  int64_t* level = b.r_session.data_ptr<int64_t>();
  const float scale = static_cast<float>(reward_scale);
  for (int64_t i = 0; i < B; ++i) {
    const float task_r = w_rt * sample.r_rt[i] + w_sl * sample.r_sl[i];
    r[i] = task_r * scale;
    if (session_end[i]) {
      const double l = std::round(static_cast<double>(task_r));
      level[i] = static_cast<int64_t>(std::clamp(std::isfinite(l) ? l : 0.0, 0.0,
                                                 static_cast<double>(max_level)));
    } else {
      level[i] = -1;
    }
  }
  return b;
}

// ---- Trainer ----

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(
    const LearnerOptions& options, std::shared_ptr<const TransitionSource> source,
    const std::string& run_dir) {
  std::unique_ptr<Trainer> t(new Trainer());
  RETURN_IF_ERROR(t->Init(options, std::move(source), run_dir));
  return t;
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::FromReplay(const LearnerOptions& options,
                                                             const std::string& replay_dir,
                                                             const std::string& run_dir) {
  auto source = LoadReplaySource(replay_dir, options.memory_budget_mb());
  if (!source.ok()) return Annotate(source.status(), Ctx(options.algo(), ""));
  return Create(options, *std::move(source), run_dir);
}

Trainer::~Trainer() = default;

absl::Status Trainer::Init(const LearnerOptions& options,
                           std::shared_ptr<const TransitionSource> source,
                           const std::string& run_dir) {
  KeepFreedMemoryForReuse();
  options_ = options;
  source_ = std::move(source);
  run_dir_ = run_dir;
  const std::string& algo = options_.algo();
  if (algo.empty()) return absl::InvalidArgumentError("learner: option 'algo' is required");
  if (options_.steps() < 0) return absl::InvalidArgumentError(Ctx(algo, "option 'steps' < 0"));
  if (options_.eval_every() <= 0) {
    return absl::InvalidArgumentError(Ctx(algo, "option 'eval_every' must be > 0"));
  }
  if (options_.checkpoint_every() < 0) {
    return absl::InvalidArgumentError(Ctx(algo, "option 'checkpoint_every' must be >= 0"));
  }
  if (options_.common().batch_size() <= 0) {
    return absl::InvalidArgumentError(Ctx(algo, "option 'common.batch_size' must be > 0"));
  }
  if (options_.resact().candidate_std() < 0) {
    return absl::InvalidArgumentError(Ctx(algo, "option 'resact.candidate_std' must be >= 0"));
  }
  if (source_ == nullptr || source_->size() == 0) {
    return absl::FailedPreconditionError(Ctx(algo, "no transitions to train on"));
  }
  auto hidden = ParseHidden(options_.common().hidden());
  if (!hidden.ok()) return Annotate(hidden.status(), Ctx(algo, ""));

  ctx_ = std::make_unique<AlgoContext>();
  ctx_->state_dim = source_->state_dim();
  ctx_->action_dim = source_->action_dim();
  ctx_->session_dim = source_->session_dim();
  ctx_->max_level = 5;
  ctx_->options = options_;
  ctx_->hidden = *hidden;
  ASSIGN_OR_RETURN(algo_, CreateAlgorithm(algo, *ctx_));
  rng_.seed(static_cast<uint64_t>(options_.common().seed()) ^ kSamplerSalt);

  if (!run_dir_.empty()) {
    std::error_code ec;
    fs::create_directories(run_dir_, ec);
    if (ec) {
      return absl::InternalError(
          Ctx(algo, absl::StrCat("cannot create run dir ", run_dir_, ": ", ec.message())));
    }
    if (options_.resume() && fs::exists(checkpoint_path())) {
      RETURN_IF_ERROR(LoadCheckpoint(checkpoint_path()));
      resumed_ = true;
      LOG(INFO) << algo << ": resumed from " << checkpoint_path() << " at step " << step_;
    }
    RETURN_IF_ERROR(TrimMetrics());
  }
  if (!resumed_ && options_.common().normalize_states()) {
    normalizer_ = Normalizer::Estimate(*source_, options_.normalization_samples(),
                                       static_cast<uint64_t>(options_.common().seed()));
  }
  window_start_ = timing_;
  return absl::OkStatus();
}

std::string Trainer::checkpoint_path() const {
  return run_dir_.empty() ? "" : (fs::path(run_dir_) / "checkpoint-latest.pt").string();
}

absl::Status Trainer::Step() {
  const auto t0 = Clock::now();
  source_->Sample(options_.common().batch_size(), rng_, &sample_, &session_end_);
  TensorBatch batch;
  RETURN_IF_ERROR(Guard(Ctx(algo(), "building a batch: "), [&] {
    batch = MakeTensorBatch(sample_, session_end_, options_.task(),
                            options_.common().reward_scale(), ctx_->max_level, normalizer_);
    return absl::OkStatus();
  }));
  const auto t1 = Clock::now();
  const double opt0 = OptimizerStepSeconds();
  RETURN_IF_ERROR(
      Guard(Ctx(algo(), absl::StrCat("step ", step_ + 1, ": update failed: ")), [&] {
        last_metrics_ = algo_->Update(batch);
        return absl::OkStatus();
      }));
  const auto t2 = Clock::now();
  ++step_;
  ++timing_.steps;
  timing_.sample_s += Seconds(t0, t1);
  timing_.update_s += Seconds(t1, t2);
  timing_.optimizer_s += OptimizerStepSeconds() - opt0;
  for (const auto& [name, value] : last_metrics_) {
    size_t k = 0;
    while (k < window_names_.size() && window_names_[k] != name) ++k;
    if (k == window_names_.size()) {
      window_names_.push_back(name);
      window_sums_.push_back({0.0, 0});
    }
    window_sums_[k].first += value;
    ++window_sums_[k].second;
  }
  return CheckFinite(algo(), step_, last_metrics_);
}

absl::Status Trainer::Run(int64_t total_steps,
                          const std::function<absl::Status(int64_t)>& on_step) {
  const int64_t every = options_.eval_every();
  const int64_t ckpt_every = options_.checkpoint_every();
  const int64_t start = step_;
  while (step_ < total_steps) {
    RETURN_IF_ERROR(Step());
    FaultPoint("train.step");
    if (step_ % every == 0 || step_ == total_steps) RETURN_IF_ERROR(FlushMetrics());
    if (!run_dir_.empty() && ckpt_every > 0 && step_ % ckpt_every == 0 && step_ != total_steps) {
      RETURN_IF_ERROR(SaveCheckpoint());
      FaultPoint("train.checkpoint");
    }
    if (on_step) {
      absl::Status s = on_step(step_);
      if (!s.ok()) {
        // Stopped from outside (e.g. cancelled): the weights are sound, so
        // keep them for a resume.
        if (!run_dir_.empty()) {
          absl::Status c = SaveCheckpoint();
          if (!c.ok()) LOG(WARNING) << c;
        }
        return s;
      }
    }
  }
  if (!run_dir_.empty() && (step_ != start || !fs::exists(checkpoint_path()))) {
    RETURN_IF_ERROR(SaveCheckpoint());
  }
  return absl::OkStatus();
}

absl::Status Trainer::FlushMetrics() {
  const Timing& w = window_start_;
  const int64_t n = timing_.steps - w.steps;
  if (n == 0) return absl::OkStatus();
  // The line's "algo" is the learner's label (its rows' name), else its algo.
  const std::string& label = options_.label().empty() ? algo() : options_.label();
  std::string line = absl::StrFormat("{\"algo\":\"%s\",\"step\":%d,\"steps\":%d", label, step_, n);
  for (size_t k = 0; k < window_names_.size(); ++k) {
    const auto& [sum, count] = window_sums_[k];
    if (count > 0) absl::StrAppendFormat(&line, ",\"%s\":%.9g", window_names_[k], sum / count);
  }
  const double ms = 1000.0 / n;
  absl::StrAppendFormat(&line,
                        ",\"ms_sample\":%.4f,\"ms_update\":%.4f,\"ms_optimizer\":%.4f,"
                        "\"ms_step\":%.4f}\n",
                        (timing_.sample_s - w.sample_s) * ms, (timing_.update_s - w.update_s) * ms,
                        (timing_.optimizer_s - w.optimizer_s) * ms,
                        (timing_.sample_s - w.sample_s + timing_.update_s - w.update_s) * ms);
  window_names_.clear();
  window_sums_.clear();
  window_start_ = timing_;
  if (run_dir_.empty()) return absl::OkStatus();
  const std::string path = (fs::path(run_dir_) / "metrics.jsonl").string();
  std::ofstream out(path, std::ios::app);
  out << line;
  out.flush();
  if (!out) return absl::InternalError(Ctx(algo(), absl::StrCat("cannot append to ", path)));
  return absl::OkStatus();
}

absl::Status Trainer::TrimMetrics() {
  const std::string path = (fs::path(run_dir_) / "metrics.jsonl").string();
  std::string kept;
  if (resumed_ && fs::exists(path)) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      const size_t at = line.find("\"step\":");
      if (at == std::string::npos) continue;
      if (std::atoll(line.c_str() + at + 7) <= step_) absl::StrAppend(&kept, line, "\n");
    }
  }
  absl::Status s = WriteFileAtomically(path, kept);
  return s.ok() ? s : Annotate(s, Ctx(algo(), "metrics: "));
}

absl::Status Trainer::SaveCheckpoint() {
  if (run_dir_.empty()) {
    return absl::FailedPreconditionError(Ctx(algo(), "no run dir to checkpoint into"));
  }
  const std::string path = checkpoint_path();
  std::ostringstream bytes;
  RETURN_IF_ERROR(Guard(Ctx(algo(), absl::StrCat("writing checkpoint ", path, ": ")), [&] {
    torch::serialize::OutputArchive ar;
    ar.write("algo", c10::IValue(options_.algo()));
    ar.write("state_dim", c10::IValue(static_cast<int64_t>(ctx_->state_dim)));
    ar.write("action_dim", c10::IValue(static_cast<int64_t>(ctx_->action_dim)));
    ar.write("step", c10::IValue(step_));
    for (auto& [name, module] : algo_->Modules()) {
      torch::serialize::OutputArchive m;
      module->save(m);
      ar.write("module_" + name, m);
    }
    for (auto& [name, optimizer] : algo_->Optimizers()) {
      torch::serialize::OutputArchive o;
      optimizer->save(o);
      ar.write("optimizer_" + name, o);
    }
    ar.write("generator", ctx_->generator.get_state(), /*is_buffer=*/true);
    std::ostringstream rng;
    rng << rng_;
    ar.write("sampler_rng", c10::IValue(rng.str()));
    if (!normalizer_.identity()) {
      ar.write("state_mean", VectorTensor(normalizer_.mean()), true);
      ar.write("state_std", VectorTensor(normalizer_.std()), true);
    }
    ar.save_to(bytes);
    return absl::OkStatus();
  }));
  absl::Status s = WriteFileAtomically(path, WithChecksumHeader(bytes.str()));
  return s.ok() ? s : Annotate(s, Ctx(algo(), "checkpoint: "));
}

absl::Status Trainer::LoadCheckpoint(const std::string& path) {
  const std::string prefix = Ctx(algo(), absl::StrCat("checkpoint ", path, ": "));
  ASSIGN_OR_RETURN(std::string file, ReadFileToString(path));
  bool verified = false;
  absl::StatusOr<std::string> payload = StripChecksumHeader(std::move(file), &verified);
  if (!payload.ok()) return Annotate(payload.status(), prefix);
  if (!verified) {
    LOG(WARNING) << prefix << "has no checksum (written by an older resact); loaded unverified";
  }
  return Guard(prefix, [&]() -> absl::Status {
    torch::serialize::InputArchive ar;
    std::istringstream in(*payload);
    ar.load_from(in);
    c10::IValue v;
    ar.read("algo", v);
    if (v.toStringRef() != options_.algo()) {
      return absl::FailedPreconditionError(absl::StrCat(
          prefix, "written by algorithm '", v.toStringRef(),
          "'; use another run_dir or set resume: false"));
    }
    ar.read("state_dim", v);
    const int64_t sd = v.toInt();
    ar.read("action_dim", v);
    const int64_t ad = v.toInt();
    if (sd != ctx_->state_dim || ad != ctx_->action_dim) {
      return absl::FailedPreconditionError(absl::StrCat(
          prefix, "dimensions ", sd, "/", ad, " differ from the replay's ", ctx_->state_dim, "/",
          ctx_->action_dim, "; use another run_dir or set resume: false"));
    }
    ar.read("step", v);
    step_ = v.toInt();
    for (auto& [name, module] : algo_->Modules()) {
      torch::serialize::InputArchive m;
      ar.read("module_" + name, m);
      module->load(m);
    }
    for (auto& [name, optimizer] : algo_->Optimizers()) {
      torch::serialize::InputArchive o;
      ar.read("optimizer_" + name, o);
      optimizer->load(o);
    }
    torch::Tensor gen;
    ar.read("generator", gen, /*is_buffer=*/true);
    ctx_->generator.set_state(gen);
    ar.read("sampler_rng", v);
    std::istringstream rng(v.toStringRef());
    rng >> rng_;
    if (!rng) return absl::DataLossError(absl::StrCat(prefix, "bad sampler state"));
    torch::Tensor mean, std;
    if (ar.try_read("state_mean", mean, true) && ar.try_read("state_std", std, true)) {
      normalizer_ = Normalizer(TensorVector(mean), TensorVector(std));
    } else {
      normalizer_ = Normalizer();
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::shared_ptr<TorchPolicy>> Trainer::Snapshot() const {
  PolicyModel model;
  model.set_algo(options_.algo());
  model.set_state_dim(ctx_->state_dim);
  model.set_action_dim(ctx_->action_dim);
  model.set_session_dim(ctx_->session_dim);
  model.set_max_level(ctx_->max_level);
  model.set_step(step_);
  *model.mutable_options() = options_;
  for (float m : normalizer_.mean()) model.add_state_mean(m);
  for (float s : normalizer_.std()) model.add_state_std(s);
  std::string weights;
  RETURN_IF_ERROR(Guard(Ctx(algo(), "snapshot: "), [&] {
    weights = SerializeModules(*algo_);
    return absl::OkStatus();
  }));
  return TorchPolicy::Create(model, std::move(weights));
}

}  // namespace learners
}  // namespace resact
