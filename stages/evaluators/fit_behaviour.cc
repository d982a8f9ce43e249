// FitBehaviour: fits the Gaussian behaviour model π_β(a | s) (a mean MLP
// plus a diagonal log-std) on the replay's train split by maximum
// likelihood, stores it beside the replay for NcisEvaluator, and passes the
// replay handle on, so learners downstream start once it exists.
//
// Example:
//   stage {
//     name: "behaviour" type: "FitBehaviour"
//     input_stream: "replay_ready" output_stream: "replay_fitted"
//     options { [type.googleapis.com/resact.FitBehaviourOptions] { steps: 3000 } }
//   }
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/registry.h"
#include "stages/evaluators/evaluator_options.pb.h"
#include "stages/evaluators/behaviour_model.h"
#include "storage/replay_reader.h"

namespace resact {

class FitBehaviour : public StageWithOptions<FitBehaviourOptions> {
 public:
  StreamContract Contract() const override {
    return {{PayloadType::kReplay}, {PayloadType::kReplay}};
  }
  absl::Status Open(const StageContext& ctx) override {
    ctx_ = &ctx;
    return absl::OkStatus();
  }
  absl::Status Process(int, const Packet& packet, Emitter& out) override {
    const ReplayHandle& handle = packet.Get<ReplayHandle>();
    std::filesystem::path path(options_.path());
    if (path.is_relative()) path = std::filesystem::path(ctx_->workdir()) / path;
    if (options_.reuse() && std::filesystem::exists(path)) {
      ASSIGN_OR_RETURN(auto model, BehaviourModel::Load(path.string()));
      LOG(INFO) << "[" << ctx_->stage_name() << "] reusing the behaviour model " << path
                << " (mean σ " << model->mean_std() << ")";
      return out.Emit(0, packet);
    }
    ReplayReaderOptions ro;
    ro.split = ReplaySplit::kTrain;
    ro.memory_budget_bytes = static_cast<uint64_t>(options_.memory_budget_mb()) << 20;
    ASSIGN_OR_RETURN(auto replay, ReplayReader::Load(handle.dir, ro));
    const BehaviourFitOptions fo = BehaviourFitOptionsOf(options_);
    ctx_->progress().SetPhase("fitting");
    ASSIGN_OR_RETURN(auto model, BehaviourModel::Fit(*replay, fo));
    RETURN_IF_ERROR(model->Save(path.string()));
    ctx_->progress().AddRows(replay->num_transitions());
    LOG(INFO) << "[" << ctx_->stage_name() << "] behaviour model fitted on "
              << replay->num_transitions() << " train transitions: NLL " << model->initial_nll()
              << " → " << model->final_nll() << ", mean σ " << model->mean_std() << "; " << path;
    return out.Emit(0, packet);
  }

 protected:
  absl::Status Init() override {
    if (options_.steps() < 1) return absl::InvalidArgumentError("steps: must be >= 1");
    if (options_.batch_size() < 1) return absl::InvalidArgumentError("batch_size: must be >= 1");
    if (!(options_.lr() > 0)) return absl::InvalidArgumentError("lr: must be > 0");
    return absl::OkStatus();
  }

 private:
  const StageContext* ctx_ = nullptr;
};
RESACT_REGISTER_STAGE(FitBehaviour);

}  // namespace resact
