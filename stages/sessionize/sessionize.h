#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "graph/registry.h"
#include "stages/sessionize/sessionize_options.pb.h"

namespace resact {

class Sessionize : public StageWithOptions<SessionizeOptions> {
 public:
  StreamContract Contract() const override {
    return {{PayloadType::kRequests}, {PayloadType::kSessions}, /*max_concurrency=*/0};
  }
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;
  absl::Status Close(Emitter& out) override;

  // Rows of one user-hash partition, in arrival order.
  struct Partition {
    std::mutex mu;
    std::vector<int64_t> user, item, ts_ms, session_id;
    std::vector<float> feedback, logprob, extra;
  };

 protected:
  absl::Status Init() override;

 private:
  const StageContext* ctx_ = nullptr;
  std::vector<std::unique_ptr<Partition>> parts_;
  std::mutex schema_mu_;
  bool schema_set_ = false;
  bool has_feedback_ = false, has_session_ = false, has_logprob_ = false;
  int num_extra_ = 0;
};

}  // namespace resact
