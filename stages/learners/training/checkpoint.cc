// Trainer::SaveCheckpoint and Trainer::LoadCheckpoint (trainer.h): the
// checkpoint archive RUN_DIR/checkpoint-latest.pt with every module and
// optimizer of the algorithm, the step, the generator and sampler states and
// the state normalization, behind a checksum header (graph/files.h).
#include <sstream>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/files.h"
#include "stages/learners/policy/torch_policy.h"
#include "stages/learners/training/trainer.h"

namespace resact {
namespace learners {
namespace {

std::string Ctx(const std::string& algo, const std::string& what) {
  return absl::StrCat(algo, ": ", what);
}

}  // namespace

absl::Status Trainer::SaveCheckpoint() {
  if (run_dir_.empty()) {
    return absl::FailedPreconditionError(Ctx(algo(), "no run dir to checkpoint into"));
  }
  const std::string path = checkpoint_path();
  std::ostringstream bytes;
  RETURN_IF_ERROR(TorchGuard(Ctx(algo(), absl::StrCat("writing checkpoint ", path, ": ")), [&] {
    torch::serialize::OutputArchive ar;
    ar.write("algo", c10::IValue(options_.algo()));
    ar.write("state_dim", c10::IValue(static_cast<int64_t>(ctx_->state_dim)));
    ar.write("action_dim", c10::IValue(static_cast<int64_t>(ctx_->action_dim)));
    ar.write("step", c10::IValue(step_));
    WriteModules(*algo_, ar);
    for (auto& [name, optimizer] : algo_->Optimizers()) {
      torch::serialize::OutputArchive o;
      optimizer->save(o);
      ar.write("optimizer_" + name, o);
    }
    ar.write("generator", ctx_->generator.get_state(), /*is_buffer=*/true);
    std::ostringstream rng;
    rng << rng_;
    ar.write("sampler_rng", c10::IValue(rng.str()));
    normalizer_.Write(ar);
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
  return TorchGuard(prefix, [&]() -> absl::Status {
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
    ReadModules(ar, *algo_);
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
    normalizer_ = Normalizer::Read(ar);
    return absl::OkStatus();
  });
}

}  // namespace learners
}  // namespace resact
