#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "graph/registry.h"
#include "stages/sessionize/sessionize_options.pb.h"

namespace resact {

// The order of two float columns' values in the request sort (Sessionize,
// and DailyIngest, which must order requests exactly as it does): by value,
// then by bit pattern (so NaNs and ±0 have a fixed place).
inline int CompareRequestFloat(float a, float b) {
  if (a < b) return -1;
  if (b < a) return 1;
  uint32_t ua, ub;
  std::memcpy(&ua, &a, 4);
  std::memcpy(&ub, &b, 4);
  return ua < ub ? -1 : (ua > ub ? 1 : 0);
}

class Sessionize : public StageWithOptions<SessionizeOptions> {
 public:
  StreamContract Contract() const override {
    return {{PayloadType::kRequests}, {PayloadType::kSessions}, /*max_concurrency=*/0};
  }
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;
  absl::Status Close(Emitter& out) override;

  // Request columns (the ones the log has; the others stay empty).
  struct Columns {
    std::vector<int64_t> user, item, ts_ms, session_id;
    std::vector<float> feedback, logprob, extra;
    size_t size() const { return user.size(); }
  };
  // Rows of one user-hash partition. Process() appends exactly sized chunks
  // in arrival order, so buffering the log costs no growth slack; Close()
  // sorts them into `sorted`, whose users are contiguous and in key order.
  struct Partition {
    std::mutex mu;
    std::vector<Columns> chunks;
    Columns sorted;
    // Rows of `sorted`'s input identical to the previous one in every
    // column (dropped from `sorted` with drop_duplicate_rows).
    uint64_t duplicates = 0;
  };

 protected:
  absl::Status Init() override;

 private:
  // Sorts the chunks of `part` into part.sorted and frees them; counts the
  // exact duplicate rows (and drops them with drop_duplicate_rows).
  void SortPartition(Partition& part) const;

  const StageContext* ctx_ = nullptr;
  std::vector<std::unique_ptr<Partition>> parts_;
  std::mutex schema_mu_;
  bool schema_set_ = false;
  bool has_feedback_ = false, has_session_ = false, has_logprob_ = false;
  int num_extra_ = 0;
  // Exact duplicate rows over all partitions (after Close()'s sort).
  uint64_t duplicates_ = 0;

 public:
  // After Close(): exact duplicate rows found (and dropped, with
  // drop_duplicate_rows).
  uint64_t duplicate_rows() const { return duplicates_; }
};

}  // namespace resact
