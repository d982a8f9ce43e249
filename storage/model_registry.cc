#include "storage/model_registry.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/text_format.h"
#include "graph/dir_lock.h"
#include "graph/fault.h"
#include "graph/files.h"
#include "graph/status.h"
#include "stages/learners/learner_options.pb.h"

namespace resact {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStateFile = "CHAMPION";
constexpr const char* kInfoFile = "version.pbtxt";
constexpr const char* kStagingPrefix = ".staging-";

std::string VersionName(int n) { return absl::StrFormat("v%04d", n); }

absl::Status FsError(const std::error_code& ec, const std::string& what, const fs::path& path) {
  return absl::InternalError(absl::StrCat("model registry: cannot ", what, " ", path.string(),
                                          ": ", ec.message()));
}

// Version numbers of the folders in `dir`, ascending.
std::vector<int> VersionNumbers(const std::string& dir) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const int n = ModelVersionNumber(e.path().filename().string());
    if (n >= 0 && e.is_directory()) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Copies the regular files of `from` into `to` (created), each fsynced.
absl::Status CopyFolder(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return FsError(ec, "create", to);
  for (const auto& e : fs::directory_iterator(from, ec)) {
    if (!e.is_regular_file()) continue;
    ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(e.path().string()));
    RETURN_IF_ERROR(WriteFileAtomically((to / e.path().filename()).string(), bytes));
  }
  if (ec) return FsError(ec, "list", from);
  return SyncDirectory(to.string());
}

}  // namespace

int ModelVersionNumber(const std::string& name) {
  if (name.size() < 2 || name[0] != 'v') return -1;
  for (size_t i = 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
  }
  int n = 0;
  if (!absl::SimpleAtoi(name.substr(1), &n) || n < 1) return -1;
  return n;
}

ModelRegistry ModelRegistry::Open(const std::string& workdir) {
  return ModelRegistry((fs::path(workdir) / "models").string());
}

absl::StatusOr<ModelRegistryState> ModelRegistry::State() const {
  ModelRegistryState state;
  const std::string path = (fs::path(dir_) / kStateFile).string();
  auto text = ReadFileToString(path);
  if (absl::IsNotFound(text.status())) return state;
  RETURN_IF_ERROR(text.status());
  if (!google::protobuf::TextFormat::ParseFromString(*text, &state)) {
    return absl::DataLossError(absl::StrCat("model registry: ", path,
                                            " is not a text-format ModelRegistryState"));
  }
  return state;
}

absl::StatusOr<std::string> ModelRegistry::Champion() const {
  ASSIGN_OR_RETURN(ModelRegistryState state, State());
  if (state.champion().empty()) {
    return absl::NotFoundError(absl::StrCat("model registry ", dir_, ": no champion yet"));
  }
  return state.champion();
}

absl::StatusOr<std::string> ModelRegistry::VersionDir(const std::string& version) const {
  const fs::path dir = fs::path(dir_) / version;
  std::error_code ec;
  if (ModelVersionNumber(version) < 0 || !fs::is_directory(dir, ec)) {
    std::vector<std::string> known;
    for (int n : VersionNumbers(dir_)) known.push_back(VersionName(n));
    return absl::NotFoundError(absl::StrCat(
        "model registry ", dir_, ": no version '", version, "' (known: ",
        known.empty() ? "none" : absl::StrJoin(known, ", "), ")"));
  }
  return dir.string();
}

absl::StatusOr<std::string> ModelRegistry::ChampionDir() const {
  ASSIGN_OR_RETURN(std::string champion, Champion());
  return VersionDir(champion);
}

absl::Status ModelRegistry::WriteState(const ModelRegistryState& state) const {
  std::string text;
  google::protobuf::TextFormat::PrintToString(state, &text);
  return WriteFileAtomically((fs::path(dir_) / kStateFile).string(),
                             "# The champion of this model registry (storage/model_registry.h).\n" +
                                 text,
                             "model.promote");
}

absl::StatusOr<std::string> ModelRegistry::AddVersion(const std::string& model_dir,
                                                      const std::string& checkpoint,
                                                      ModelVersionInfo info) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(model_dir) / "model.pbtxt", ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model registry: ", model_dir, " holds no model.pbtxt: not a saved policy folder"));
  }
  if (!checkpoint.empty() && !fs::is_regular_file(checkpoint, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model registry: checkpoint ", checkpoint, " is not a file"));
  }
  fs::create_directories(dir_, ec);
  if (ec) return FsError(ec, "create", dir_);
  ASSIGN_OR_RETURN(std::unique_ptr<DirLock> lock, DirLock::Acquire(dir_, "model registry write"));
  // Staging folders of runs that crashed.
  std::vector<fs::path> stale;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().filename().string().rfind(kStagingPrefix, 0) == 0) stale.push_back(e.path());
  }
  for (const fs::path& p : stale) fs::remove_all(p, ec);
  const std::vector<int> numbers = VersionNumbers(dir_);
  const std::string name = VersionName(numbers.empty() ? 1 : numbers.back() + 1);
  const fs::path staging = fs::path(dir_) / (kStagingPrefix + name);
  const fs::path target = fs::path(dir_) / name;
  auto fail = [&](absl::Status s) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return s;
  };
  info.set_version(name);
  info.set_created_unix_seconds(static_cast<int64_t>(std::time(nullptr)));
  // The algorithm and steps the policy records, unless the caller gave them.
  if (auto text = ReadFileToString((fs::path(model_dir) / "model.pbtxt").string()); text.ok()) {
    PolicyModel model;
    if (google::protobuf::TextFormat::ParseFromString(*text, &model)) {
      if (!info.has_algo()) info.set_algo(model.algo());
      if (!info.has_steps()) info.set_steps(model.step());
    }
  }
  if (absl::Status s = CopyFolder(model_dir, staging / "model"); !s.ok()) return fail(s);
  if (!checkpoint.empty()) {
    auto bytes = ReadFileToString(checkpoint);
    if (!bytes.ok()) return fail(bytes.status());
    if (absl::Status s = WriteFileAtomically((staging / "checkpoint.pt").string(), *bytes);
        !s.ok()) {
      return fail(s);
    }
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(info, &text);
  if (absl::Status s = WriteFileAtomically((staging / kInfoFile).string(), text); !s.ok()) {
    return fail(s);
  }
  if (absl::Status s = SyncDirectory(staging.string()); !s.ok()) return fail(s);
  FaultPoint("model.add");
  fs::rename(staging, target, ec);
  if (ec) return fail(FsError(ec, "move a new version to", target));
  RETURN_IF_ERROR(SyncDirectory(dir_));
  return name;
}

absl::StatusOr<std::vector<ModelVersionEntry>> ModelRegistry::List() const {
  ASSIGN_OR_RETURN(ModelRegistryState state, State());
  std::vector<ModelVersionEntry> out;
  for (int n : VersionNumbers(dir_)) {
    ModelVersionEntry e;
    e.dir = (fs::path(dir_) / VersionName(n)).string();
    const std::string path = (fs::path(e.dir) / kInfoFile).string();
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
    if (!google::protobuf::TextFormat::ParseFromString(text, &e.info)) {
      return absl::DataLossError(
          absl::StrCat("model registry: ", path, " is not a text-format ModelVersionInfo"));
    }
    e.champion = e.info.version() == state.champion();
    out.push_back(std::move(e));
  }
  return out;
}

absl::Status ModelRegistry::Promote(const std::string& version, const std::string& reason) {
  RETURN_IF_ERROR(VersionDir(version).status());
  ASSIGN_OR_RETURN(std::unique_ptr<DirLock> lock, DirLock::Acquire(dir_, "model registry write"));
  ASSIGN_OR_RETURN(ModelRegistryState state, State());
  ModelPromotion* p = state.add_promotion();
  p->set_version(version);
  p->set_unix_seconds(static_cast<int64_t>(std::time(nullptr)));
  p->set_reason(reason);
  state.set_champion(version);
  return WriteState(state);
}

std::string ModelRegistry::RollbackTarget(const ModelRegistryState& state) const {
  int current = -1;
  for (int i = state.promotion_size() - 1; i >= 0; --i) {
    if (!state.promotion(i).rolled_back()) {
      current = i;
      break;
    }
  }
  std::error_code ec;
  for (int i = current - 1; i >= 0; --i) {
    const ModelPromotion& p = state.promotion(i);
    if (p.rolled_back() || p.version() == state.champion()) continue;
    if (fs::is_directory(fs::path(dir_) / p.version(), ec)) return p.version();
  }
  return "";
}

absl::StatusOr<std::string> ModelRegistry::Rollback() {
  ASSIGN_OR_RETURN(std::unique_ptr<DirLock> lock, DirLock::Acquire(dir_, "model registry write"));
  ASSIGN_OR_RETURN(ModelRegistryState state, State());
  if (state.champion().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("model registry ", dir_, ": no champion, nothing to roll back"));
  }
  const std::string target = RollbackTarget(state);
  if (target.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model registry ", dir_, ": the champion ", state.champion(),
        " has no earlier champion to roll back to"));
  }
  // Every promotion after the target's last one is undone.
  for (int i = state.promotion_size() - 1; i >= 0; --i) {
    ModelPromotion* p = state.mutable_promotion(i);
    if (p->rolled_back()) continue;
    if (p->version() == target) break;
    p->set_rolled_back(true);
  }
  state.set_champion(target);
  RETURN_IF_ERROR(WriteState(state));
  return target;
}

absl::StatusOr<std::vector<std::string>> ModelRegistry::Prune(int keep) {
  if (keep < 1) {
    return absl::InvalidArgumentError(absl::StrCat("model registry: keep must be >= 1, got ", keep));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<DirLock> lock, DirLock::Acquire(dir_, "model registry write"));
  ASSIGN_OR_RETURN(ModelRegistryState state, State());
  const std::string rollback = RollbackTarget(state);
  const std::vector<int> numbers = VersionNumbers(dir_);
  std::vector<std::string> removed;
  for (size_t i = 0; i + keep < numbers.size(); ++i) {
    const std::string name = VersionName(numbers[i]);
    if (name == state.champion() || name == rollback) continue;
    std::error_code ec;
    fs::remove_all(fs::path(dir_) / name, ec);
    if (ec) return FsError(ec, "remove", fs::path(dir_) / name);
    removed.push_back(name);
  }
  if (!removed.empty()) RETURN_IF_ERROR(SyncDirectory(dir_));
  return removed;
}

}  // namespace resact
