// Sessionize: groups a request log into sessions per user, in time order.
// Rows may arrive unsorted and from many files. Process() appends each row to
// a user-hash partition (as exactly sized chunks, so buffering the log costs
// no growth slack); Close() sorts the partitions in parallel by (user hash,
// user, timestamp, item, then the other columns, so exact duplicate rows are
// adjacent: they are counted and reported, and dropped with
// drop_duplicate_rows), cuts sessions at gaps longer than `gap_seconds` (or
// where the log's session id changes), assigns each user to the train or test
// split by hash, and emits batches of whole users in user hash order, which
// is also the replay's key order. Each partition is freed once emitted.
//
// Example:
//   stage {
//     name: "sessionize" type: "Sessionize"
//     input_stream: "requests" output_stream: "sessions"
//     options { [type.googleapis.com/resact.SessionizeOptions] { gap_seconds: 3600 } }
//   }
#include "stages/sessionize/sessionize.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/hash.h"
#include "graph/memory.h"
#include "tbb/parallel_for.h"
#include "tbb/parallel_sort.h"

namespace resact {
namespace {

int PartitionOf(int64_t user, int parts) {
  return static_cast<int>((static_cast<uint64_t>(UserHash32(user)) * parts) >> 32);
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
  // Group row indices by partition; copy each partition's rows into an
  // exactly sized chunk, then append the chunk under the partition's lock.
  std::vector<uint32_t> start(parts + 1, 0);
  for (int p = 0; p < parts; ++p) start[p + 1] = start[p] + count[p];
  std::vector<uint32_t> rows(n);
  std::vector<uint32_t> fill(start.begin(), start.end() - 1);
  for (size_t i = 0; i < n; ++i) rows[fill[pid[i]]++] = static_cast<uint32_t>(i);
  for (int p = 0; p < parts; ++p) {
    if (count[p] == 0) continue;
    const uint32_t* r = rows.data() + start[p];
    const size_t m = count[p];
    Columns chunk;
    auto gather = [&](const auto& from, auto& to) {
      to.resize(m);
      for (size_t k = 0; k < m; ++k) to[k] = from[r[k]];
    };
    gather(b.user, chunk.user);
    gather(b.item, chunk.item);
    gather(b.ts_ms, chunk.ts_ms);
    if (has_feedback_) gather(b.feedback, chunk.feedback);
    if (has_session_) gather(b.session_id, chunk.session_id);
    if (has_logprob_) gather(b.behaviour_logprob, chunk.logprob);
    if (num_extra_ > 0) {
      chunk.extra.resize(m * num_extra_);
      for (size_t k = 0; k < m; ++k) {
        std::copy_n(b.extra.begin() + static_cast<size_t>(r[k]) * num_extra_, num_extra_,
                    chunk.extra.begin() + k * num_extra_);
      }
    }
    Partition& part = *parts_[p];
    std::lock_guard<std::mutex> lock(part.mu);
    part.chunks.push_back(std::move(chunk));
  }
  ctx_->progress().AddRows(n);
  return absl::OkStatus();
}

void Sessionize::SortPartition(Partition& part) const {
  // Sort packed keys by (user hash, user, timestamp, item, the other columns
  // of the row); rows equal in every column are exact duplicates and become
  // adjacent. The order does not depend on arrival order (chunks, threads).
  struct Key {
    uint64_t hash_user;  // hash in the high half, low bits of the user below
    int64_t ts;
    int64_t user;
    int64_t item;
    uint32_t chunk;
    uint32_t row;
  };
  size_t n = 0;
  for (const Columns& c : part.chunks) n += c.size();
  std::vector<Key> keys(n);
  size_t k = 0;
  for (uint32_t ci = 0; ci < part.chunks.size(); ++ci) {
    const Columns& c = part.chunks[ci];
    for (size_t i = 0; i < c.size(); ++i) {
      keys[k++] = {(static_cast<uint64_t>(UserHash32(c.user[i])) << 32) |
                       (static_cast<uint64_t>(c.user[i]) & 0xffffffffu),
                   c.ts_ms[i], c.user[i], c.item[i], ci, static_cast<uint32_t>(i)};
    }
  }
  const std::vector<Columns>& chunks = part.chunks;
  const bool fb = has_feedback_, sid = has_session_, lp = has_logprob_;
  const size_t ne = static_cast<size_t>(num_extra_);
  // The columns after the key's: -1, 0, 1.
  auto compare_rest = [&](const Key& a, const Key& b) -> int {
    const Columns& ca = chunks[a.chunk];
    const Columns& cb = chunks[b.chunk];
    if (sid && ca.session_id[a.row] != cb.session_id[b.row]) {
      return ca.session_id[a.row] < cb.session_id[b.row] ? -1 : 1;
    }
    if (fb) {
      if (int c = CompareRequestFloat(ca.feedback[a.row], cb.feedback[b.row])) return c;
    }
    if (lp) {
      if (int c = CompareRequestFloat(ca.logprob[a.row], cb.logprob[b.row])) return c;
    }
    for (size_t e = 0; e < ne; ++e) {
      if (int c = CompareRequestFloat(ca.extra[a.row * ne + e], cb.extra[b.row * ne + e])) return c;
    }
    return 0;
  };
  std::sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) {
    if (a.hash_user != b.hash_user) return a.hash_user < b.hash_user;
    if (a.user != b.user) return a.user < b.user;
    if (a.ts != b.ts) return a.ts < b.ts;
    if (a.item != b.item) return a.item < b.item;
    if (int c = compare_rest(a, b)) return c < 0;
    if (a.chunk != b.chunk) return a.chunk < b.chunk;
    return a.row < b.row;
  });
  // Exact duplicates: equal to the previous row in every column.
  std::vector<uint8_t> duplicate(n, 0);
  uint64_t duplicates = 0;
  for (size_t i = 1; i < n; ++i) {
    const Key& a = keys[i - 1];
    const Key& b = keys[i];
    if (a.user == b.user && a.ts == b.ts && a.item == b.item && compare_rest(a, b) == 0) {
      duplicate[i] = 1;
      ++duplicates;
    }
  }
  part.duplicates = duplicates;
  const bool drop = options_.drop_duplicate_rows();
  const size_t kept = drop ? n - duplicates : n;
  Columns& out = part.sorted;
  out.user.resize(kept);
  out.item.resize(kept);
  out.ts_ms.resize(kept);
  if (has_feedback_) out.feedback.resize(kept);
  if (has_session_) out.session_id.resize(kept);
  if (has_logprob_) out.logprob.resize(kept);
  if (num_extra_ > 0) out.extra.resize(kept * num_extra_);
  size_t o = 0;
  for (size_t i = 0; i < n; ++i) {
    if (drop && duplicate[i]) continue;
    const Key& key = keys[i];
    const Columns& c = part.chunks[key.chunk];
    out.user[o] = key.user;
    out.item[o] = key.item;
    out.ts_ms[o] = key.ts;
    if (has_feedback_) out.feedback[o] = c.feedback[key.row];
    if (has_session_) out.session_id[o] = c.session_id[key.row];
    if (has_logprob_) out.logprob[o] = c.logprob[key.row];
    if (num_extra_ > 0) {
      std::copy_n(c.extra.begin() + static_cast<size_t>(key.row) * num_extra_, num_extra_,
                  out.extra.begin() + o * num_extra_);
    }
    ++o;
  }
  std::vector<Columns>().swap(part.chunks);
}

absl::Status Sessionize::Close(Emitter& out) {
  const int parts = static_cast<int>(parts_.size());
  ctx_->progress().SetPhase("sorting");
  const double t_sort = ctx_->progress().elapsed_seconds();
  tbb::parallel_for(0, parts, [&](int p) {
    SortPartition(*parts_[p]);
    ReleaseFreedMemory();  // The chunks, so the sorted copy does not double the peak.
  });
  VLOG(1) << "[" << ctx_->stage_name() << "] sorted in "
          << ctx_->progress().elapsed_seconds() - t_sort << " s";
  duplicates_ = 0;
  for (const auto& part : parts_) duplicates_ += part->duplicates;
  if (duplicates_ > 0) {
    if (options_.drop_duplicate_rows()) {
      LOG(WARNING) << "[" << ctx_->stage_name() << "] dropped " << duplicates_
                   << " exact duplicate rows (identical to another row in every column; "
                      "drop_duplicate_rows is true)";
    } else {
      LOG(WARNING) << "[" << ctx_->stage_name() << "] " << duplicates_
                   << " rows are exact duplicates of another row (identical in every column) "
                      "and are kept as separate requests; was a file read twice? Set "
                      "drop_duplicate_rows: true to drop them";
    }
  }
  ctx_->progress().SetPhase("emitting");

  const int64_t gap_ms = static_cast<int64_t>(options_.gap_seconds() * 1000.0);
  const bool by_log_session = options_.source() == SessionizeOptions::LOG_SESSION_ID;
  const size_t batch_requests = static_cast<size_t>(options_.batch_requests());
  // Whether sorted row r starts a new session of the user whose previous row is r - 1.
  auto cut = [&](const Columns& c, size_t r) {
    return by_log_session ? c.session_id[r] != c.session_id[r - 1]
                          : c.ts_ms[r] - c.ts_ms[r - 1] > gap_ms;
  };
  // One user's rows [begin, end) of partition `part`, with its session count.
  struct UserRows {
    int part;
    size_t begin, end, sessions;
  };
  std::vector<UserRows> members;
  uint64_t users = 0, sessions = 0, requests = 0;
  int p = 0, freed = 0;
  size_t i = 0;  // Next row of partition p.
  while (true) {
    // Pass 1: the users of the next batch (whole users until it holds at
    // least batch_requests requests), so the batch is allocated exactly.
    members.clear();
    size_t rows = 0, batch_sessions = 0;
    while (rows < batch_requests) {
      while (p < parts && i >= parts_[p]->sorted.size()) {
        // Partition p is emitted once the batch holding its last user is.
        ++p;
        i = 0;
      }
      if (p == parts) break;
      const Columns& c = parts_[p]->sorted;
      const int64_t user = c.user[i];
      size_t j = i + 1, user_sessions = 1;
      for (; j < c.size() && c.user[j] == user; ++j) user_sessions += cut(c, j) ? 1 : 0;
      members.push_back({p, i, j, user_sessions});
      rows += j - i;
      batch_sessions += user_sessions;
      i = j;
    }
    if (members.empty()) break;
    // Pass 2: fill.
    auto batch = std::make_shared<SessionBatch>();
    batch->num_extra = num_extra_;
    batch->gap_seconds = options_.gap_seconds();
    batch->user.reserve(members.size());
    batch->is_test.reserve(members.size());
    batch->user_offset.reserve(members.size() + 1);
    batch->session_offset.reserve(batch_sessions + 1);
    batch->item.reserve(rows);
    batch->ts_ms.reserve(rows);
    if (has_feedback_) batch->feedback.reserve(rows);
    if (has_logprob_) batch->behaviour_logprob.reserve(rows);
    if (num_extra_ > 0) batch->extra.reserve(rows * num_extra_);
    batch->user_offset.push_back(0);
    batch->session_offset.push_back(0);
    for (const UserRows& m : members) {
      const Columns& c = parts_[m.part]->sorted;
      const int64_t user = c.user[m.begin];
      batch->user.push_back(user);
      batch->is_test.push_back(
          IsTestUser(user, options_.test_fraction(), options_.split_seed()) ? 1 : 0);
      const uint64_t base = batch->item.size() - m.begin;
      for (size_t r = m.begin + 1; r < m.end; ++r) {
        if (cut(c, r)) batch->session_offset.push_back(base + r);
      }
      batch->session_offset.push_back(base + m.end);
      batch->user_offset.push_back(static_cast<uint32_t>(batch->session_offset.size() - 1));
      auto append = [&](const auto& from, auto& to, size_t width) {
        to.insert(to.end(), from.begin() + m.begin * width, from.begin() + m.end * width);
      };
      append(c.item, batch->item, 1);
      append(c.ts_ms, batch->ts_ms, 1);
      if (has_feedback_) append(c.feedback, batch->feedback, 1);
      if (has_logprob_) append(c.logprob, batch->behaviour_logprob, 1);
      if (num_extra_ > 0) append(c.extra, batch->extra, static_cast<size_t>(num_extra_));
    }
    users += members.size();
    sessions += batch_sessions;
    requests += rows;
    // Free the partitions whose rows are all emitted.
    if (freed < p) {
      for (; freed < p; ++freed) parts_[freed]->sorted = Columns();
      ReleaseFreedMemory();
    }
    RETURN_IF_ERROR(out.Emit(0, PayloadType::kSessions,
                             std::shared_ptr<const SessionBatch>(std::move(batch))));
  }
  for (auto& part : parts_) part->sorted = Columns();
  LOG(INFO) << "[" << ctx_->stage_name() << "] " << users << " users, " << sessions
            << " sessions, " << requests << " requests";
  return absl::OkStatus();
}

RESACT_REGISTER_STAGE(Sessionize);

}  // namespace resact
