// The Stage interface (the MediaPipe calculator model, adapted): a stage is
// built from its StageSpec, receives its typed options, declares its streams,
// then gets Open(), Process() per packet (or Generate() for a source), and
// Close(), which flushes buffered state downstream.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "graph/payload.h"
#include "graph/progress.h"
#include "graph/status.h"

namespace resact {

// One message on a stream: a typed, immutable, shared batch. `token` is the
// runner's in-flight accounting; stages never touch it.
struct Packet {
  PayloadType type = PayloadType::kRequests;
  // The in-flight token is declared before the payload, so that a packet
  // frees its payload before it gives back its slot of the source's budget
  // (members are destroyed in reverse order): a freed slot never lets the
  // source build a batch while the last one still holds its memory.
  std::shared_ptr<void> token;
  std::shared_ptr<const void> payload;

  template <class T>
  const T& Get() const { return *static_cast<const T*>(payload.get()); }
  template <class T>
  std::shared_ptr<const T> Share() const {
    return std::static_pointer_cast<const T>(payload);
  }
};

template <class T>
Packet MakePacket(PayloadType type, std::shared_ptr<const T> payload) {
  Packet p;
  p.type = type;
  p.payload = std::move(payload);
  return p;
}

// Where a stage sends its outputs. `output` is the index of the stream in the
// stage's declared outputs. A non-OK status means the run is being cancelled;
// the stage should return it.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual absl::Status Emit(int output, Packet packet) = 0;
  template <class T>
  absl::Status Emit(int output, PayloadType type, std::shared_ptr<const T> p) {
    return Emit(output, MakePacket<T>(type, std::move(p)));
  }
};

// The streams a stage type takes and gives, as payload kinds in order.
struct StreamContract {
  std::vector<PayloadType> inputs;   // Empty for a source.
  std::vector<PayloadType> outputs;  // Empty for a sink.
  // Most concurrent Process() calls the stage supports; 0 means unlimited.
  int max_concurrency = 1;
  // How many trailing outputs a spec may leave unwired; packets emitted on
  // an unwired output are dropped.
  int optional_outputs = 0;
};

// What the run's sources read, recorded by each source stage when it opens
// (sources open first), so that a store can tell a re-run of the same input
// from a different input. Thread-safe.
class RunSources {
 public:
  // `fingerprint` identifies the input exactly (e.g. a hash of the files'
  // paths, sizes and mtimes); `description` is a short readable summary.
  void Record(const std::string& stage, const std::string& fingerprint,
              const std::string& description);
  // A hash over every recorded (stage, fingerprint) in stage-name order, as
  // 16 hex digits; "" when no source recorded one.
  std::string Fingerprint() const;
  // "stage: description; ..." in stage-name order.
  std::string Description() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> by_stage_;
};

// What the runner gives a stage when it opens.
class StageContext {
 public:
  StageContext(std::string stage_name, std::string workdir, Progress* progress,
               const std::atomic<bool>* cancelled, RunSources* sources = nullptr)
      : stage_name_(std::move(stage_name)),
        workdir_(std::move(workdir)),
        progress_(progress),
        cancelled_(cancelled),
        sources_(sources) {}
  const std::string& stage_name() const { return stage_name_; }
  // Directory for everything the run writes. Exists when Open() is called.
  const std::string& workdir() const { return workdir_; }
  Progress& progress() const { return *progress_; }
  bool cancelled() const { return cancelled_ != nullptr && cancelled_->load(); }
  // Sources: record what this stage reads (see RunSources); a no-op without
  // a run (e.g. a stage tested on its own).
  void RecordSource(const std::string& fingerprint, const std::string& description) const {
    if (sources_ != nullptr) sources_->Record(stage_name_, fingerprint, description);
  }
  // The run's source fingerprint and description so far ("" without a run).
  std::string source_fingerprint() const {
    return sources_ == nullptr ? std::string() : sources_->Fingerprint();
  }
  std::string source_description() const {
    return sources_ == nullptr ? std::string() : sources_->Description();
  }

 private:
  std::string stage_name_;
  std::string workdir_;
  Progress* progress_;
  const std::atomic<bool>* cancelled_;
  RunSources* sources_;
};

class Stage {
 public:
  virtual ~Stage() = default;

  // Takes the options (already unpacked into the registered options message)
  // and validates them. Errors name the option field.
  virtual absl::Status Configure(const google::protobuf::Message& options) = 0;
  // Streams, valid after Configure().
  virtual StreamContract Contract() const = 0;

  virtual absl::Status Open(const StageContext& ctx) {
    (void)ctx;
    return absl::OkStatus();
  }
  // Sources only: emit every packet, returning when the input is exhausted.
  virtual absl::Status Generate(Emitter& out) {
    (void)out;
    return absl::UnimplementedError("this stage is not a source");
  }
  // Non-sources: one packet from input stream `input`. May be called
  // concurrently up to Contract().max_concurrency.
  virtual absl::Status Process(int input, const Packet& packet, Emitter& out) {
    (void)input, (void)packet, (void)out;
    return absl::UnimplementedError("this stage takes no input");
  }
  // After every upstream stage has closed and all their packets were
  // processed: flush buffered state downstream.
  virtual absl::Status Close(Emitter& out) {
    (void)out;
    return absl::OkStatus();
  }
};

// Base for stages with a typed options message `Options`.
template <class Options>
class StageWithOptions : public Stage {
 public:
  using OptionsType = Options;
  absl::Status Configure(const google::protobuf::Message& options) final {
    options_.CopyFrom(options);
    return Init();
  }

 protected:
  // Validates `options_`; called once from Configure().
  virtual absl::Status Init() { return absl::OkStatus(); }
  Options options_;
};

}  // namespace resact
