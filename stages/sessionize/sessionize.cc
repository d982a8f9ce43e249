// Sessionize: groups a request log into sessions per user, in time order.
// Rows may arrive unsorted and from many files. Process() appends each row to
// a user-hash partition; Close() sorts the partitions in parallel by (user
// hash, user, timestamp, item), cuts sessions at gaps longer than
// `gap_seconds` (or where the log's session id changes), assigns each user to
// the train or test split by hash, and emits batches of whole users in user
// hash order, which is also the replay's key order.
//
// Example:
//   stage {
//     name: "sessionize" type: "Sessionize"
//     input_stream: "requests" output_stream: "sessions"
//     options { [type.googleapis.com/resact.SessionizeOptions] { gap_seconds: 3600 } }
//   }
#include "stages/sessionize/sessionize.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/hash.h"
#include "tbb/parallel_for.h"
#include "tbb/parallel_sort.h"

namespace resact {
namespace {

int PartitionOf(int64_t user, int parts) {
  return static_cast<int>((static_cast<uint64_t>(UserHash32(user)) * parts) >> 32);
}

// Sorts partition rows by (user hash, user, timestamp, item, arrival) and
// returns the permutation. Sorting packed keys keeps the sort cache-friendly.
std::vector<uint32_t> SortedOrder(const Sessionize::Partition& p) {
  struct Key {
    uint64_t hash_user;  // hash in the high half, low bits of the user below
    int64_t ts;
    int64_t user;
    int64_t item;
    uint32_t row;
  };
  const size_t n = p.user.size();
  std::vector<Key> keys(n);
  for (size_t i = 0; i < n; ++i) {
    keys[i] = {(static_cast<uint64_t>(UserHash32(p.user[i])) << 32) |
                   (static_cast<uint64_t>(p.user[i]) & 0xffffffffu),
               p.ts_ms[i], p.user[i], p.item[i], static_cast<uint32_t>(i)};
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    if (a.hash_user != b.hash_user) return a.hash_user < b.hash_user;
    if (a.user != b.user) return a.user < b.user;
    if (a.ts != b.ts) return a.ts < b.ts;
    if (a.item != b.item) return a.item < b.item;
    return a.row < b.row;
  });
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = keys[i].row;
  return order;
}

}  // namespace

absl::Status Sessionize::Init() {
  if (!(options_.gap_seconds() > 0)) {
    return absl::InvalidArgumentError("gap_seconds: must be > 0");
  }
  if (options_.num_partitions() < 1 || options_.num_partitions() > 65536) {
    return absl::InvalidArgumentError("num_partitions: must be in 1..65536");
  }
  if (!(options_.test_fraction() >= 0 && options_.test_fraction() <= 1)) {
    return absl::InvalidArgumentError("test_fraction: must be in [0, 1]");
  }
  if (options_.batch_requests() < 1) {
    return absl::InvalidArgumentError("batch_requests: must be >= 1");
  }
  return absl::OkStatus();
}

absl::Status Sessionize::Open(const StageContext& ctx) {
  ctx_ = &ctx;
  parts_.clear();
  for (int i = 0; i < options_.num_partitions(); ++i) {
    parts_.push_back(std::make_unique<Partition>());
  }
  return absl::OkStatus();
}

absl::Status Sessionize::Process(int, const Packet& packet, Emitter&) {
  const RequestBatch& b = packet.Get<RequestBatch>();
  const size_t n = b.size();
  if (b.item.size() != n || b.ts_ms.size() != n) {
    return absl::InvalidArgumentError("request batch has columns of different lengths");
  }
  {
    std::lock_guard<std::mutex> lock(schema_mu_);
    const bool fb = !b.feedback.empty(), sid = !b.session_id.empty(),
               lp = !b.behaviour_logprob.empty();
    if (!schema_set_) {
      schema_set_ = true;
      has_feedback_ = fb;
      has_session_ = sid;
      has_logprob_ = lp;
      num_extra_ = b.num_extra;
      if (options_.source() == SessionizeOptions::LOG_SESSION_ID && !sid) {
        return absl::InvalidArgumentError(absl::StrCat(
            "source: LOG_SESSION_ID needs a session column, but the log from '", b.source,
            "' has none"));
      }
    } else if (fb != has_feedback_ || sid != has_session_ || lp != has_logprob_ ||
               b.num_extra != num_extra_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rows from '", b.source, "' have other columns than earlier rows "
          "(feedback, session id, log-prob or extra features differ)"));
    }
  }
  const int parts = static_cast<int>(parts_.size());
  std::vector<uint16_t> pid(n);
  std::vector<uint32_t> count(parts, 0);
  for (size_t i = 0; i < n; ++i) {
    pid[i] = static_cast<uint16_t>(PartitionOf(b.user[i], parts));
    ++count[pid[i]];
  }
  // Group row indices by partition, then append under each partition's lock.
  std::vector<uint32_t> start(parts + 1, 0);
  for (int p = 0; p < parts; ++p) start[p + 1] = start[p] + count[p];
  std::vector<uint32_t> rows(n);
  std::vector<uint32_t> fill(start.begin(), start.end() - 1);
  for (size_t i = 0; i < n; ++i) rows[fill[pid[i]]++] = static_cast<uint32_t>(i);
  for (int p = 0; p < parts; ++p) {
    if (count[p] == 0) continue;
    Partition& part = *parts_[p];
    std::lock_guard<std::mutex> lock(part.mu);
    for (uint32_t k = start[p]; k < start[p + 1]; ++k) {
      const uint32_t i = rows[k];
      part.user.push_back(b.user[i]);
      part.item.push_back(b.item[i]);
      part.ts_ms.push_back(b.ts_ms[i]);
      if (has_feedback_) part.feedback.push_back(b.feedback[i]);
      if (has_session_) part.session_id.push_back(b.session_id[i]);
      if (has_logprob_) part.logprob.push_back(b.behaviour_logprob[i]);
      if (num_extra_ > 0) {
        part.extra.insert(part.extra.end(), b.extra.begin() + static_cast<size_t>(i) * num_extra_,
                          b.extra.begin() + static_cast<size_t>(i + 1) * num_extra_);
      }
    }
  }
  ctx_->progress().AddRows(n);
  return absl::OkStatus();
}

absl::Status Sessionize::Close(Emitter& out) {
  const int parts = static_cast<int>(parts_.size());
  ctx_->progress().SetPhase("sorting");
  std::vector<std::vector<uint32_t>> orders(parts);
  const double t_sort = ctx_->progress().elapsed_seconds();
  tbb::parallel_for(0, parts, [&](int p) { orders[p] = SortedOrder(*parts_[p]); });
  VLOG(1) << "[" << ctx_->stage_name() << "] sorted in "
          << ctx_->progress().elapsed_seconds() - t_sort << " s";
  ctx_->progress().SetPhase("emitting");

  const int64_t gap_ms = static_cast<int64_t>(options_.gap_seconds() * 1000.0);
  const bool by_log_session = options_.source() == SessionizeOptions::LOG_SESSION_ID;
  uint64_t users = 0, sessions = 0, requests = 0;
  std::shared_ptr<SessionBatch> batch;
  auto new_batch = [&] {
    batch = std::make_shared<SessionBatch>();
    batch->user_offset.push_back(0);
    batch->session_offset.push_back(0);
    batch->num_extra = num_extra_;
    batch->gap_seconds = options_.gap_seconds();
  };
  auto flush = [&]() -> absl::Status {
    if (batch == nullptr || batch->user.empty()) return absl::OkStatus();
    std::shared_ptr<const SessionBatch> done = std::move(batch);
    new_batch();
    return out.Emit(0, PayloadType::kSessions, done);
  };
  new_batch();
  for (int p = 0; p < parts; ++p) {
    Partition& part = *parts_[p];
    const std::vector<uint32_t>& order = orders[p];
    size_t i = 0;
    while (i < order.size()) {
      const int64_t user = part.user[order[i]];
      size_t j = i;
      while (j < order.size() && part.user[order[j]] == user) ++j;
      // Rows order[i..j) are one user's requests in time order.
      batch->user.push_back(user);
      batch->is_test.push_back(
          IsTestUser(user, options_.test_fraction(), options_.split_seed()) ? 1 : 0);
      for (size_t k = i; k < j; ++k) {
        const uint32_t r = order[k];
        if (k > i) {
          const uint32_t prev = order[k - 1];
          const bool cut = by_log_session ? part.session_id[r] != part.session_id[prev]
                                          : part.ts_ms[r] - part.ts_ms[prev] > gap_ms;
          if (cut) batch->session_offset.push_back(batch->item.size());
        }
        batch->item.push_back(part.item[r]);
        batch->ts_ms.push_back(part.ts_ms[r]);
        if (has_feedback_) batch->feedback.push_back(part.feedback[r]);
        if (has_logprob_) batch->behaviour_logprob.push_back(part.logprob[r]);
        if (num_extra_ > 0) {
          batch->extra.insert(batch->extra.end(),
                              part.extra.begin() + static_cast<size_t>(r) * num_extra_,
                              part.extra.begin() + static_cast<size_t>(r + 1) * num_extra_);
        }
      }
      batch->session_offset.push_back(batch->item.size());
      batch->user_offset.push_back(static_cast<uint32_t>(batch->session_offset.size() - 1));
      ++users;
      requests += j - i;
      i = j;
      if (batch->item.size() >= static_cast<size_t>(options_.batch_requests())) {
        sessions += batch->num_sessions();
        RETURN_IF_ERROR(flush());
      }
    }
    // Free the partition as soon as it is emitted.
    Partition empty;
    std::swap(part.user, empty.user);
    std::swap(part.item, empty.item);
    std::swap(part.ts_ms, empty.ts_ms);
    std::swap(part.session_id, empty.session_id);
    std::swap(part.feedback, empty.feedback);
    std::swap(part.logprob, empty.logprob);
    std::swap(part.extra, empty.extra);
    std::vector<uint32_t>().swap(orders[p]);
  }
  sessions += batch->num_sessions();
  RETURN_IF_ERROR(flush());
  LOG(INFO) << "[" << ctx_->stage_name() << "] " << users << " users, " << sessions
            << " sessions, " << requests << " requests";
  return absl::OkStatus();
}

RESACT_REGISTER_STAGE(Sessionize);

}  // namespace resact
