// Runs one stage with no graph, for tests and benchmarks: build it from an
// inline StageSpec, feed it packets, collect what it emits.
//
//   ASSIGN_OR_RETURN(auto runner, StageRunner::Create(R"pb(
//     name: "sessions" type: "Sessionize"
//     input_stream: "requests" output_stream: "sessions"
//     options { [type.googleapis.com/resact.SessionizeOptions] { gap_seconds: 60 } }
//   )pb"));
//   RETURN_IF_ERROR(runner->Feed(0, packet));
//   RETURN_IF_ERROR(runner->Close());
//   auto batches = runner->Outputs<SessionBatch>(0);
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph_builder.h"

namespace resact {

class StageRunner : public Emitter {
 public:
  // `stage_spec_text` is a StageSpec in text format. `workdir` is created;
  // when empty, the runner makes a fresh folder under the temp dir
  // (resact_stage_XXXXXX) and removes it with its content when destroyed.
  static absl::StatusOr<std::unique_ptr<StageRunner>> Create(const std::string& stage_spec_text,
                                                             const std::string& workdir = "");
  ~StageRunner() override;

  // Process() one packet on input `input`.
  absl::Status Feed(int input, Packet packet);
  template <class T>
  absl::Status Feed(int input, std::shared_ptr<const T> payload) {
    return Feed(input, MakePacket<T>(stage_->Contract().inputs.at(input), std::move(payload)));
  }
  // Generate() for a source stage.
  absl::Status Generate();
  absl::Status Close();

  const std::vector<Packet>& outputs(int output) const { return outputs_.at(output); }
  template <class T>
  std::vector<std::shared_ptr<const T>> Outputs(int output) const {
    std::vector<std::shared_ptr<const T>> out;
    for (const Packet& p : outputs_.at(output)) out.push_back(p.Share<T>());
    return out;
  }
  // Drops collected outputs (to keep memory flat in long benchmarks).
  void ClearOutputs();
  Stage& stage() { return *stage_; }
  const std::string& workdir() const { return ctx_->workdir(); }
  const Progress& progress() const { return progress_; }

  absl::Status Emit(int output, Packet packet) override;

 private:
  StageSpec spec_;
  std::unique_ptr<google::protobuf::Message> options_;
  std::unique_ptr<Stage> stage_;
  StreamContract contract_;
  Progress progress_;
  std::atomic<bool> cancelled_{false};
  std::unique_ptr<StageContext> ctx_;
  std::mutex mu_;
  std::vector<std::vector<Packet>> outputs_;
  std::string temporary_dir_;  // Made by Create(), removed by the destructor.
};

}  // namespace resact
