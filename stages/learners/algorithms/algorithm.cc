#include "stages/learners/algorithms/algorithm.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace resact {
namespace learners {
namespace {

// Names registered twice; CreateAlgorithm refuses them.
std::set<std::string>& Duplicates() {
  static auto* d = new std::set<std::string>();
  return *d;
}

// Each registered name's display order (AlgorithmNames).
std::map<std::string, int>& DisplayOrder() {
  static auto* order = new std::map<std::string, int>();
  return *order;
}

// Serializes weight initialisation: torch::manual_seed and the module
// constructors that draw from torch's global generator. Recursive, so a
// factory may build another algorithm.
std::recursive_mutex& InitMutex() {
  static auto* mu = new std::recursive_mutex();
  return *mu;
}

// The generator stream is kept apart from the weight stream (same seed would
// correlate initial weights with the first noise draws).
constexpr uint64_t kGeneratorSalt = 0x9e3779b97f4a7c15ULL;

}  // namespace

std::map<std::string, AlgorithmFactory>& AlgorithmRegistry() {
  static auto* registry = new std::map<std::string, AlgorithmFactory>();
  return *registry;
}

bool RegisterAlgorithm(const std::string& name, AlgorithmFactory factory, int display_order) {
  auto& registry = AlgorithmRegistry();
  if (registry.count(name) > 0) {
    Duplicates().insert(name);
    return false;
  }
  registry.emplace(name, std::move(factory));
  DisplayOrder()[name] = display_order;
  return true;
}

std::vector<std::string> AlgorithmNames() {
  std::vector<std::pair<int, std::string>> ranked;
  for (const auto& [name, order] : DisplayOrder()) ranked.push_back({order, name});
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> names;
  for (auto& [order, name] : ranked) names.push_back(std::move(name));
  return names;
}

absl::StatusOr<std::unique_ptr<Algorithm>> CreateAlgorithm(const std::string& name,
                                                           AlgoContext& ctx) {
  const auto& registry = AlgorithmRegistry();
  auto it = registry.find(name);
  if (it == registry.end()) {
    std::vector<std::string> known;
    for (const auto& [k, v] : registry) known.push_back(k);
    return absl::NotFoundError(absl::StrCat("unknown learner algorithm '", name,
                                            "'; known: ", absl::StrJoin(known, ", ")));
  }
  if (Duplicates().count(name) > 0) {
    return absl::InternalError(
        absl::StrCat("learner algorithm '", name, "' is registered more than once"));
  }
  if (ctx.state_dim <= 0 || ctx.action_dim <= 0 || ctx.session_dim < 0 ||
      ctx.session_dim > ctx.state_dim) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": bad dimensions: state_dim ", ctx.state_dim, ", action_dim ",
                     ctx.action_dim, ", session_dim ", ctx.session_dim));
  }
  const uint64_t seed = static_cast<uint64_t>(ctx.options.common().seed());
  if (ctx.hidden.empty()) {
    ASSIGN_OR_RETURN(ctx.hidden, ParseHidden(ctx.options.common().hidden()));
  }
  if (!ctx.generator.defined()) {
    ctx.generator = at::make_generator<at::CPUGeneratorImpl>(seed ^ kGeneratorSalt);
  }
  std::unique_ptr<Algorithm> algo;
  RETURN_IF_ERROR(BuildSeeded(name, seed, [&] { algo = it->second(ctx); }));
  return algo;
}

absl::Status BuildSeeded(const std::string& what, uint64_t seed,
                         const std::function<void()>& build) {
  return TorchGuard(absl::StrCat(what, ": building the networks failed: "), [&] {
    std::lock_guard<std::recursive_mutex> lock(InitMutex());
    torch::manual_seed(seed);
    build();
    return absl::OkStatus();
  });
}

std::string TaskName(LearnerOptions::Task task) {
  if (!LearnerOptions::Task_IsValid(task)) task = LearnerOptions::RETURN_TIME;
  return absl::AsciiStrToLower(LearnerOptions::Task_Name(task));
}

torch::Tensor Randn(AlgoContext& ctx, torch::IntArrayRef sizes) {
  return torch::randn(sizes, ctx.generator, torch::kFloat32);
}

void StepCounterImpl::save(torch::serialize::OutputArchive& archive) const {
  archive.write("count", c10::IValue(value_));
}

void StepCounterImpl::load(torch::serialize::InputArchive& archive) {
  c10::IValue v;
  archive.read("count", v);
  value_ = v.toInt();
}

absl::StatusOr<std::vector<int>> ParseHidden(const std::string& text) {
  std::vector<int> widths;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    int w = 0;
    if (!absl::SimpleAtoi(part, &w) || w <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("option 'common.hidden': expected positive layer widths like "
                       "\"256,256\", got \"", text, "\""));
    }
    widths.push_back(w);
  }
  return widths;
}

absl::Status CheckFinite(const std::string& algo, int64_t step, const Metrics& metrics) {
  for (const auto& [name, value] : metrics) {
    if (!std::isfinite(value)) {
      return absl::InternalError(absl::StrCat(
          algo, ": step ", step, ": ", name, " is ", std::isnan(value) ? "NaN" : "Inf",
          " (training diverged or the replay holds non-finite values; try a lower "
          "common.lr or common.reward_scale)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace learners
}  // namespace resact
