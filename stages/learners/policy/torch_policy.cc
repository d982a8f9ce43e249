#include "stages/learners/policy/torch_policy.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "google/protobuf/text_format.h"
#include "graph/fault.h"
#include "graph/files.h"
#include "graph/memory.h"
#include "stages/learners/policy/policy_io.h"

namespace resact {
namespace learners {
namespace {

namespace fs = std::filesystem;

// Acting draws (candidates, latents) restart from this seed on every call.
constexpr uint64_t kActSalt = 0xa5a5a5a55a5a5a5aULL;

}  // namespace

void WriteModules(Algorithm& algo, torch::serialize::OutputArchive& archive) {
  for (auto& [name, module] : algo.Modules()) {
    torch::serialize::OutputArchive m;
    module->save(m);
    archive.write("module_" + name, m);
  }
}

void ReadModules(torch::serialize::InputArchive& archive, Algorithm& algo) {
  for (auto& [name, module] : algo.Modules()) {
    torch::serialize::InputArchive m;
    archive.read("module_" + name, m);
    module->load(m);
  }
}

std::string SerializeModules(Algorithm& algo) {
  torch::serialize::OutputArchive ar;
  WriteModules(algo, ar);
  std::ostringstream out;
  ar.save_to(out);
  return out.str();
}

absl::Status DeserializeModules(const std::string& bytes, Algorithm& algo) {
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(bytes.data(), bytes.size());
    ReadModules(ar, algo);
  } catch (const c10::Error& e) {
    return absl::DataLossError(
        absl::StrCat("loading policy weights: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("loading policy weights: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<TorchPolicy>> TorchPolicy::Create(const PolicyModel& model,
                                                                std::string weights) {
  std::shared_ptr<TorchPolicy> p(new TorchPolicy());
  p->model_ = model;
  p->weights_ = std::move(weights);
  const std::string& algo = model.algo();
  const int S = model.state_dim();
  if (model.state_mean_size() != model.state_std_size() ||
      (model.state_mean_size() != 0 && model.state_mean_size() != S)) {
    return absl::InvalidArgumentError(
        absl::StrCat(algo, " policy: normalization has ", model.state_mean_size(), " means and ",
                     model.state_std_size(), " stds for state_dim ", S));
  }
  for (float s : model.state_std()) {
    if (!(s > 0)) {
      return absl::InvalidArgumentError(absl::StrCat(algo, " policy: a state_std is not > 0"));
    }
  }
  p->normalizer_ = Normalizer({model.state_mean().begin(), model.state_mean().end()},
                              {model.state_std().begin(), model.state_std().end()});
  p->ctx_ = std::make_unique<AlgoContext>();
  p->ctx_->state_dim = S;
  p->ctx_->action_dim = model.action_dim();
  p->ctx_->session_dim = model.session_dim();
  p->ctx_->max_level = model.max_level();
  p->ctx_->options = model.options();
  ASSIGN_OR_RETURN(p->algo_, CreateAlgorithm(algo, *p->ctx_));
  absl::Status s = DeserializeModules(p->weights_, *p->algo_);
  if (!s.ok()) return Annotate(s, absl::StrCat(algo, " policy: "));
  for (auto& [name, module] : p->algo_->Modules()) module->eval();
  return p;
}

absl::Status TorchPolicy::OnStates(
    const float* states, int64_t n,
    const std::function<absl::Status(const torch::Tensor&)>& body) const {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    torch::NoGradGuard no_grad;
    // Acting draws restart from the same seed on every call.
    ctx_->generator.set_current_seed(static_cast<uint64_t>(model_.options().common().seed()) ^
                                     kActSalt);
    return body(normalizer_.Apply(
        torch::from_blob(const_cast<float*>(states), {n, state_dim()}, torch::kFloat32)));
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat(model_.algo(), " policy: ", e.what_without_backtrace()));
  }
}

absl::Status TorchPolicy::Act(const float* states, int64_t n, float* actions) const {
  if (n <= 0) return absl::OkStatus();
  const int64_t A = action_dim();
  return OnStates(states, n, [&](const torch::Tensor& x) {
    torch::Tensor a = algo_->Act(x).to(torch::kFloat32).contiguous();
    if (a.dim() != 2 || a.size(0) != n || a.size(1) != A) {
      return absl::InternalError(absl::StrCat(model_.algo(), " policy: Act returned shape [",
                                              absl::StrJoin(a.sizes(), ","), "], expected [", n,
                                              ",", A, "]"));
    }
    if (!torch::isfinite(a).all().item<bool>()) {
      return absl::InternalError(absl::StrCat(model_.algo(), " policy: non-finite action"));
    }
    a = a.clamp(-1.0, 1.0).contiguous();
    std::memcpy(actions, a.data_ptr<float>(), sizeof(float) * n * A);
    return absl::OkStatus();
  });
}

absl::Status TorchPolicy::ScoredCandidates(const float* states, int64_t n, float* actions,
                                           float* scores) const {
  const int64_t k = candidates();
  if (k < 1) return Policy::ScoredCandidates(states, n, actions, scores);
  if (n <= 0) return absl::OkStatus();
  const int64_t A = action_dim();
  // The same draws as Act: the candidates Act picks among.
  return OnStates(states, n, [&](const torch::Tensor& x) {
    auto [a, q] = algo_->ScoredCandidates(x);
    if (a.dim() != 3 || a.size(0) != n || a.size(1) != k || a.size(2) != A || q.dim() != 2 ||
        q.size(0) != n || q.size(1) != k) {
      return absl::InternalError(absl::StrCat(
          model_.algo(), " policy: ScoredCandidates returned shapes [", absl::StrJoin(a.sizes(), ","),
          "] and [", absl::StrJoin(q.sizes(), ","), "], expected [", n, ",", k, ",", A, "] and [",
          n, ",", k, "]"));
    }
    a = a.to(torch::kFloat32).clamp(-1.0, 1.0).contiguous();
    q = q.to(torch::kFloat32).contiguous();
    std::memcpy(actions, a.data_ptr<float>(), sizeof(float) * n * k * A);
    std::memcpy(scores, q.data_ptr<float>(), sizeof(float) * n * k);
    return absl::OkStatus();
  });
}

}  // namespace learners

namespace {

namespace fs = std::filesystem;


}  // namespace

absl::StatusOr<PolicyModel> ReadPolicyModel(const std::string& dir) {
  const std::string path = (fs::path(dir) / "model.pbtxt").string();
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  PolicyModel model;
  if (!google::protobuf::TextFormat::ParseFromString(text, &model)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a PolicyModel in text format"));
  }
  if (model.algo().empty() || model.state_dim() <= 0 || model.action_dim() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": needs algo, state_dim > 0 and action_dim > 0"));
  }
  return model;
}

absl::StatusOr<std::shared_ptr<const Policy>> LoadPolicy(const std::string& dir) {
  KeepFreedMemoryForReuse();
  ASSIGN_OR_RETURN(PolicyModel model, ReadPolicyModel(dir));
  const std::string path = (fs::path(dir) / "model.pt").string();
  ASSIGN_OR_RETURN(std::string weights, ReadFileToString(path));
  if (!model.has_weights_checksum()) {
    LOG(WARNING) << path << " has no checksum (written by an older resact); it is loaded "
                 << "unverified. Save the model again to add one";
  } else if (static_cast<int64_t>(weights.size()) != model.weights_bytes() ||
             Checksum64(weights) != model.weights_checksum()) {
    return absl::DataLossError(absl::StrFormat(
        "%s is damaged: %d bytes with checksum %016x, but model.pbtxt records %d bytes with "
        "checksum %016x; restore the model from a checkpoint or train it again",
        path, weights.size(), Checksum64(weights), model.weights_bytes(),
        model.weights_checksum()));
  }
  auto policy = learners::TorchPolicy::Create(model, std::move(weights));
  if (!policy.ok()) return Annotate(policy.status(), absl::StrCat(path, ": "));
  return std::shared_ptr<const Policy>(*std::move(policy));
}

absl::Status SavePolicy(const Policy& policy, const std::string& dir) {
  const auto* tp = dynamic_cast<const learners::TorchPolicy*>(&policy);
  if (tp == nullptr) {
    return absl::InvalidArgumentError("SavePolicy: only a learner's policy can be saved");
  }
  // The whole folder is written next to `dir` and put in its place in one
  // step, so a reader of `dir` sees the old model or the new one, never a
  // mix of their files.
  std::string target = dir;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  const std::string staging = absl::StrCat(target, ".saving-", ::getpid());
  std::error_code ec;
  fs::remove_all(staging, ec);
  // Folders of saves whose process died (killed mid-save) are removed.
  const std::string prefix = fs::path(target).filename().string() + ".saving-";
  const fs::path parent = fs::path(target).has_parent_path() ? fs::path(target).parent_path() : ".";
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code rm;
      fs::remove_all(e.path(), rm);
    }
  }
  fs::create_directories(staging, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", staging, ": ", ec.message()));
  PolicyModel model = tp->model();
  model.set_weights_bytes(static_cast<int64_t>(tp->weights().size()));
  model.set_weights_checksum(Checksum64(tp->weights()));
  std::string text;
  google::protobuf::TextFormat::PrintToString(model, &text);
  absl::Status s =
      WriteFileAtomically((fs::path(staging) / "model.pt").string(), tp->weights());
  if (s.ok()) {
    s = WriteFileAtomically((fs::path(staging) / "model.pbtxt").string(),
                            absl::StrCat("# A resact policy; weights in model.pt.\n", text));
  }
  if (s.ok()) {
    FaultPoint("model.save");
    s = ReplaceDirectory(staging, target);
  }
  if (!s.ok()) fs::remove_all(staging, ec);
  return s;
}

}  // namespace resact
