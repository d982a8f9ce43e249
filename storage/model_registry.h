// The model registry of a workdir: numbered, immutable model versions and one
// champion, the version that serves (method.md section 6, "training and
// promotion"). Daily retraining adds each challenger as a version and
// promotes it when it wins; `resact model list|promote|rollback` read and
// change the same files by hand. No torch here: versions are copied as files.
//
//   WORKDIR/models/
//     v0001/            a version, immutable once in place:
//       model/            the policy folder SavePolicy wrote (model.pbtxt, model.pt)
//       checkpoint.pt     the trainer's checkpoint (weights, optimizer state,
//                         normalizer) that a challenger warm-starts from; optional
//       version.pbtxt     ModelVersionInfo (storage/model_registry.proto)
//     v0002/ ...
//     CHAMPION          ModelRegistryState: the champion and every promotion
//
// Atomicity:
//  - a version is assembled in models/.staging-vNNNN and renamed into place,
//    so a vNNNN folder is always whole (a crash leaves only a staging folder,
//    removed by the next writer);
//  - CHAMPION is replaced whole (write, fsync, rename, fsync of the folder):
//    a reader that reads CHAMPION and then loads its version never sees a
//    half-written model, and a crash mid-promotion leaves exactly one
//    champion, the old one or the new one.
// Writers (AddVersion, Promote, Rollback, Prune) take the folder's lock
// (graph/dir_lock.h) for the call, so two jobs cannot interleave; readers
// take none.
//
// Fault points (graph/fault.h): "model.add" (a version's files are staged,
// not yet in place), "model.promote" (the new CHAMPION is durable, not yet
// renamed over the old one).
//
// Example:
//   ASSIGN_OR_RETURN(ModelRegistry reg, ModelRegistry::Open(workdir));
//   ASSIGN_OR_RETURN(std::string v, reg.AddVersion(run_dir + "/model", ckpt, info));
//   RETURN_IF_ERROR(reg.Promote(v, "first model"));
//   ASSIGN_OR_RETURN(std::string dir, reg.ChampionDir());  // .../models/v0001
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/model_registry.pb.h"

namespace resact {

struct ModelVersionEntry {
  ModelVersionInfo info;
  std::string dir;        // WORKDIR/models/vNNNN
  bool champion = false;  // The serving version.
};

class ModelRegistry {
 public:
  // The registry of `workdir` (WORKDIR/models, created on the first write).
  static ModelRegistry Open(const std::string& workdir);

  const std::string& dir() const { return dir_; }

  // Copies the policy folder `model_dir` (model.pbtxt and its weights) and,
  // when `checkpoint` is not empty, that checkpoint file, into the next
  // version; `info`'s version and created time are filled in, and its algo
  // and steps, when unset, from the folder's model.pbtxt (PolicyModel; left
  // unset when it does not parse). Returns the
  // version's name. InvalidArgument naming the folder when it holds no
  // model.pbtxt; nothing is left behind on an error.
  absl::StatusOr<std::string> AddVersion(const std::string& model_dir,
                                         const std::string& checkpoint, ModelVersionInfo info);

  // Every version, oldest first, with the champion marked.
  absl::StatusOr<std::vector<ModelVersionEntry>> List() const;
  // CHAMPION's content (empty state when none was ever promoted). DataLoss
  // naming the file when it does not parse.
  absl::StatusOr<ModelRegistryState> State() const;
  // The champion's name; NotFound when there is none.
  absl::StatusOr<std::string> Champion() const;
  // WORKDIR/models/<champion>; NotFound when there is none.
  absl::StatusOr<std::string> ChampionDir() const;
  // A version's folder; NotFound naming the known versions when absent.
  absl::StatusOr<std::string> VersionDir(const std::string& version) const;

  // Makes `version` the champion (one atomic replacement of CHAMPION).
  absl::Status Promote(const std::string& version, const std::string& reason);
  // Undoes the current champion's promotion: the champion becomes the
  // version of the latest earlier promotion not rolled back whose folder
  // still exists. Returns it; FailedPrecondition when there is none.
  absl::StatusOr<std::string> Rollback();
  // Removes versions older than the newest `keep`, except the champion and
  // the version a rollback would restore. Returns the names removed.
  absl::StatusOr<std::vector<std::string>> Prune(int keep);

 private:
  explicit ModelRegistry(std::string dir) : dir_(std::move(dir)) {}
  absl::Status WriteState(const ModelRegistryState& state) const;
  // The version a rollback would restore (empty when none).
  std::string RollbackTarget(const ModelRegistryState& state) const;
  std::string dir_;
};

// "v0007" -> 7; -1 when `name` is not a version name.
int ModelVersionNumber(const std::string& name);

}  // namespace resact
