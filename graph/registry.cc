#include "graph/registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace resact {

StageRegistry& StageRegistry::Global() {
  static StageRegistry* registry = new StageRegistry();
  return *registry;
}

bool StageRegistry::Register(StageRegistration reg) {
  std::string name = reg.type;
  if (!stages_.emplace(name, std::move(reg)).second) duplicates_.push_back(name);
  return true;
}

absl::Status StageRegistry::status() const {
  if (duplicates_.empty()) return absl::OkStatus();
  return absl::AlreadyExistsError(absl::StrCat(
      "stage types registered more than once: ", absl::StrJoin(duplicates_, ", ")));
}

absl::StatusOr<const StageRegistration*> StageRegistry::Find(
    const std::string& type) const {
  auto it = stages_.find(type);
  if (it != stages_.end()) return &it->second;
  std::vector<std::string> known;
  for (const auto& [name, reg] : stages_) known.push_back(name);
  return absl::NotFoundError(absl::StrCat("unknown stage type '", type,
                                          "'; known types: ", absl::StrJoin(known, ", ")));
}

std::vector<const StageRegistration*> StageRegistry::List() const {
  std::vector<const StageRegistration*> out;
  for (const auto& [name, reg] : stages_) out.push_back(&reg);
  return out;
}

}  // namespace resact
