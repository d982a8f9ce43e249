// RunSources (graph/stage.h): the inputs a run's sources read.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/hash.h"
#include "graph/stage.h"

namespace resact {

void RunSources::Record(const std::string& stage, const std::string& fingerprint,
                        const std::string& description) {
  std::lock_guard<std::mutex> lock(mu_);
  by_stage_[stage] = {fingerprint, description};
}

std::string RunSources::Fingerprint() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (by_stage_.empty()) return "";
  // FNV-1a over "stage\0fingerprint\0" in stage order, then mixed.
  uint64_t h = 0xcbf29ce484222325ULL;
  auto add = [&h](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    h = (h ^ 0) * 0x100000001b3ULL;
  };
  for (const auto& [stage, v] : by_stage_) {
    add(stage);
    add(v.first);
  }
  return absl::StrFormat("%016x", Mix64(h));
}

std::string RunSources::Description() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [stage, v] : by_stage_) {
    absl::StrAppend(&out, out.empty() ? "" : "; ", stage, ": ", v.second);
  }
  return out;
}

}  // namespace resact
