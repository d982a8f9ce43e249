// ReplaySource: starts a pipeline from a replay store that an earlier run
// wrote, e.g. to train or evaluate again without re-ingesting the log. It
// checks that the store is complete and emits its handle.
//
// Example:
//   stage {
//     name: "replay" type: "ReplaySource" output_stream: "replay_ready"
//     options { [type.googleapis.com/resact.ReplaySourceOptions] { dir: "runs/ml/replay" } }
//   }
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "graph/registry.h"
#include "stages/replay/replay_source_options.pb.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"

namespace resact {

class ReplaySource : public StageWithOptions<ReplaySourceOptions> {
 public:
  StreamContract Contract() const override { return {{}, {PayloadType::kReplay}}; }
  absl::Status Open(const StageContext& ctx) override {
    std::filesystem::path dir(options_.dir());
    if (dir.is_relative()) dir = std::filesystem::path(ctx.workdir()) / dir;
    dir_ = dir.lexically_normal().string();
    if (!ReplayStore::Exists(dir_)) {
      return absl::NotFoundError(absl::StrCat("dir: no replay store at ", dir_));
    }
    ReplayStoreOptions so;
    so.read_only = true;
    ASSIGN_OR_RETURN(auto store, ReplayStore::Open(dir_, so));
    ASSIGN_OR_RETURN(ReplayMeta meta, store->ReadMeta());
    absl::Status complete = CheckReplayComplete(meta, dir_);
    return complete.ok() ? complete : Annotate(complete, "dir: ");
  }
  absl::Status Generate(Emitter& out) override {
    auto handle = std::make_shared<ReplayHandle>();
    handle->dir = dir_;
    return out.Emit(0, PayloadType::kReplay, std::shared_ptr<const ReplayHandle>(handle));
  }

 protected:
  absl::Status Init() override {
    if (options_.dir().empty()) return absl::InvalidArgumentError("dir: must not be empty");
    return absl::OkStatus();
  }

 private:
  std::string dir_;
};
RESACT_REGISTER_STAGE(ReplaySource);

}  // namespace resact
