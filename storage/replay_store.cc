#include "storage/replay_store.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/status.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace resact {

namespace fs = std::filesystem;

const char* ReplayTableName(ReplayTable t) {
  switch (t) {
    case ReplayTable::kTransitions:
      return "transitions";
    case ReplayTable::kSessions:
      return "sessions";
    case ReplayTable::kUsers:
      return "users";
    case ReplayTable::kItems:
      return "items";
    case ReplayTable::kMeta:
      return "meta";
  }
  return "unknown";
}

namespace {

constexpr char kMetaKey[] = "meta";

// The one conversion of rocksdb::Status to absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, const std::string& dir, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat("replay store ", dir, ": ", what, ": ", s.ToString());
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(msg);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(msg);
    case rocksdb::Status::kNotSupported:
      return absl::UnimplementedError(msg);
    case rocksdb::Status::kInvalidArgument:
      return absl::InvalidArgumentError(msg);
    case rocksdb::Status::kIOError:
      if (s.IsNoSpace()) return absl::ResourceExhaustedError(msg);
      if (s.IsPathNotFound()) return absl::NotFoundError(msg);
      return absl::InternalError(msg);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
      return absl::UnavailableError(msg);
    case rocksdb::Status::kAborted:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kShutdownInProgress:
      return absl::AbortedError(msg);
    default:
      return absl::UnknownError(msg);
  }
}

// Runs `fn`, turning any exception into an Internal error naming the store.
template <class Fn>
auto Guarded(const std::string& dir, absl::string_view what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("replay store ", dir, ": ", what, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(
        absl::StrCat("replay store ", dir, ": ", what, ": unknown exception"));
  }
}

}  // namespace

// ---- The store ----

// The open database. Shared by the store and its cursors, so that a cursor
// alive after the store was destroyed keeps the database open (RocksDB
// requires every iterator to be deleted before the DB).
struct DbHolder {
  std::string dir;
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;  // Indexed by ReplayTable.

  absl::Status CloseDb() {
    if (db == nullptr) return absl::OkStatus();
    absl::Status first;
    for (auto* h : cfs) {
      if (h == nullptr) continue;
      rocksdb::Status s = db->DestroyColumnFamilyHandle(h);
      if (!s.ok() && first.ok()) first = FromRocks(s, dir, "closing a column family");
    }
    cfs.clear();
    rocksdb::Status s = db->Close();
    if (!s.ok() && first.ok()) first = FromRocks(s, dir, "close");
    delete db;
    db = nullptr;
    return first;
  }
  ~DbHolder() {
    absl::Status s = CloseDb();
    if (!s.ok()) LOG(WARNING) << s;
  }
};

struct ReplayStore::Impl {
  std::string dir;
  ReplayStoreOptions options;
  std::shared_ptr<DbHolder> holder;
  rocksdb::DB* db = nullptr;  // holder->db while open.

  rocksdb::ColumnFamilyHandle* cf(ReplayTable t) const { return holder->cfs[static_cast<int>(t)]; }
  absl::Status CheckOpen() const {
    if (db != nullptr) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("replay store ", dir, " is closed"));
  }
  rocksdb::WriteOptions write_options(bool force_sync = false) const {
    rocksdb::WriteOptions w;
    w.sync = options.sync || force_sync;
    w.disableWAL = false;
    return w;
  }
};

namespace {

rocksdb::ColumnFamilyOptions TableOptions(ReplayTable t) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 * 1024;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  static const std::vector<rocksdb::CompressionType> supported =
      rocksdb::GetSupportedCompressions();
  auto has = [&](rocksdb::CompressionType c) {
    return std::find(supported.begin(), supported.end(), c) != supported.end();
  };
  if (has(rocksdb::kLZ4Compression)) {
    cf.compression = rocksdb::kLZ4Compression;
  } else if (has(rocksdb::kSnappyCompression)) {
    cf.compression = rocksdb::kSnappyCompression;
  } else {
    cf.compression = rocksdb::kNoCompression;
  }
  if (has(rocksdb::kZSTD)) cf.bottommost_compression = rocksdb::kZSTD;
  if (t == ReplayTable::kMeta || t == ReplayTable::kItems) cf.write_buffer_size = 4 << 20;
  return cf;
}

bool PathExists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

}  // namespace

ReplayStore::ReplayStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReplayStore::~ReplayStore() = default;

const std::string& ReplayStore::dir() const { return impl_->dir; }
const ReplayStoreOptions& ReplayStore::options() const { return impl_->options; }

bool ReplayStore::Exists(const std::string& dir) { return PathExists(dir + "/CURRENT"); }

absl::StatusOr<std::unique_ptr<ReplayStore>> ReplayStore::Open(const std::string& dir,
                                                               bool create) {
  ReplayStoreOptions o;
  o.create = create;
  return Open(dir, o);
}

absl::StatusOr<std::unique_ptr<ReplayStore>> ReplayStore::Open(const std::string& dir,
                                                               const ReplayStoreOptions& options) {
  return Guarded(dir, "open", [&]() -> absl::StatusOr<std::unique_ptr<ReplayStore>> {
    if (!Exists(dir)) {
      if (!options.create || options.read_only) {
        return absl::NotFoundError(
            absl::StrCat("replay store ", dir, ": no replay store there (no CURRENT file)"));
      }
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) {
        return absl::InternalError(
            absl::StrCat("replay store ", dir, ": cannot create the directory: ", ec.message()));
      }
    }
    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    impl->options = options;
    impl->holder = std::make_shared<DbHolder>();
    impl->holder->dir = dir;

    rocksdb::DBOptions db;
    db.create_if_missing = options.create;
    db.create_missing_column_families = options.create;
    db.keep_log_file_num = 3;
    db.max_log_file_size = 4 << 20;
    db.max_background_jobs = 2;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    descs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
    for (int t = 0; t < kNumReplayTables; ++t) {
      descs.emplace_back(ReplayTableName(static_cast<ReplayTable>(t)),
                         TableOptions(static_cast<ReplayTable>(t)));
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status s;
    rocksdb::DB* raw = nullptr;
    if (options.read_only) {
      s = rocksdb::DB::OpenForReadOnly(db, dir, descs, &handles, &raw);
    } else {
      s = rocksdb::DB::Open(db, dir, descs, &handles, &raw);
    }
    if (!s.ok()) {
      return FromRocks(s, dir, options.read_only ? "open read-only" : "open");
    }
    impl->holder->db = impl->db = raw;
    // handles[0] is the unused default family; keep the others by table.
    impl->holder->cfs.assign(handles.begin() + 1, handles.end());
    raw->DestroyColumnFamilyHandle(handles[0]);
    VLOG(1) << "opened replay store " << dir << (options.read_only ? " (read-only)" : "");
    return std::unique_ptr<ReplayStore>(new ReplayStore(std::move(impl)));
  });
}

absl::Status ReplayStore::Destroy(const std::string& dir) {
  return Guarded(dir, "destroy", [&]() -> absl::Status {
    if (!PathExists(dir)) return absl::OkStatus();
    if (Exists(dir)) {
      rocksdb::Options o;
      std::vector<rocksdb::ColumnFamilyDescriptor> descs;
      descs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
      for (int t = 0; t < kNumReplayTables; ++t) {
        descs.emplace_back(ReplayTableName(static_cast<ReplayTable>(t)),
                           TableOptions(static_cast<ReplayTable>(t)));
      }
      RETURN_IF_ERROR(FromRocks(rocksdb::DestroyDB(dir, o, descs), dir, "destroy"));
    }
    // Only the database's own files are deleted (never other files a user
    // keeps in the directory); the directory goes when it is left empty.
    std::error_code ec;
    if (fs::is_empty(dir, ec)) fs::remove(dir, ec);
    return absl::OkStatus();
  });
}

namespace {

// Upper bound (exclusive) of every session/transition key of a user prefix.
std::string UserRangeEnd(const std::string& prefix) { return prefix + std::string(9, '\xff'); }

}  // namespace

absl::Status ReplayStore::WriteBatch(const ReplayBatch& batch, bool replace_users) {
  RETURN_IF_ERROR(ValidateReplayBatch(batch));
  return Guarded(impl_->dir, "write batch", [&]() -> absl::Status {
    RETURN_IF_ERROR(impl_->CheckOpen());
    const SessionBatch& sb = *batch.sessions;
    const int dim = batch.session_state_dim;
    rocksdb::WriteBatch wb(/*reserved_bytes=*/sb.num_requests() * 40 +
                           sb.num_sessions() * (48 + 4 * dim) + 64);
    auto* cf_t = impl_->cf(ReplayTable::kTransitions);
    auto* cf_s = impl_->cf(ReplayTable::kSessions);
    auto* cf_u = impl_->cf(ReplayTable::kUsers);
    const bool f16 = impl_->options.session_state_float16;
    std::string key, value;
    ReplayTransitionRecord tr;
    ReplaySessionRecord sr;
    ReplayUserRecord ur;
    for (size_t u = 0; u < sb.num_users(); ++u) {
      const int64_t user = sb.user[u];
      const uint32_t s_begin = sb.user_offset[u], s_end = sb.user_offset[u + 1];
      std::string prefix = ReplayUserKey(user);
      if (replace_users) {
        const std::string end = UserRangeEnd(prefix);
        RETURN_IF_ERROR(FromRocks(wb.DeleteRange(cf_s, prefix, end), impl_->dir, "batch delete"));
        RETURN_IF_ERROR(FromRocks(wb.DeleteRange(cf_t, prefix, end), impl_->dir, "batch delete"));
      }
      double return_sum = 0;
      uint64_t returns = 0;
      for (uint32_t s = s_begin; s < s_end; ++s) {
        const uint64_t r_begin = sb.session_offset[s], r_end = sb.session_offset[s + 1];
        const int64_t start = sb.ts_ms[r_begin];
        const uint32_t session_idx = s - s_begin;
        // Session record.
        key = prefix;
        AppendReplayKeyU32(&key, session_idx);
        sr.start_ts_ms = start;
        sr.length = static_cast<uint32_t>(r_end - r_begin);
        sr.return_hours = sb.return_hours[s];
        sr.r_rt = sb.r_rt[s];
        sr.r_sl = sb.r_sl[s];
        sr.s_h.assign(batch.session_state.begin() + static_cast<size_t>(s) * dim,
                      batch.session_state.begin() + static_cast<size_t>(s + 1) * dim);
        value.clear();
        EncodeSessionValue(sr, f16, &value);
        RETURN_IF_ERROR(FromRocks(wb.Put(cf_s, key, value), impl_->dir, "batch put"));
        if (std::isfinite(sr.return_hours)) return_sum += sr.return_hours, ++returns;
        // Transition records.
        const size_t key_len = key.size();
        for (uint64_t r = r_begin; r < r_end; ++r) {
          key.resize(key_len);
          AppendReplayKeyU32(&key, static_cast<uint32_t>(r - r_begin));
          tr.item_index = batch.item_index[r];
          tr.item_id = sb.item[r];
          tr.dt_ms = static_cast<uint64_t>(sb.ts_ms[r] - start);
          tr.last_in_session = r + 1 == r_end;
          tr.done = tr.last_in_session && s + 1 == s_end;
          tr.r_rt = tr.last_in_session ? sb.r_rt[s] : 0;
          tr.r_sl = tr.last_in_session ? sb.r_sl[s] : 0;
          tr.has_feedback = !sb.feedback.empty() && !std::isnan(sb.feedback[r]);
          tr.feedback = tr.has_feedback ? sb.feedback[r] : 0.f;
          tr.has_logprob = !sb.behaviour_logprob.empty() && !std::isnan(sb.behaviour_logprob[r]);
          tr.behaviour_logprob = tr.has_logprob ? sb.behaviour_logprob[r] : 0.f;
          value.clear();
          EncodeTransitionValue(tr, &value);
          RETURN_IF_ERROR(FromRocks(wb.Put(cf_t, key, value), impl_->dir, "batch put"));
        }
      }
      // User record.
      const uint64_t first_r = sb.session_offset[s_begin], end_r = sb.session_offset[s_end];
      ur.is_test = sb.is_test[u] != 0;
      ur.num_sessions = s_end - s_begin;
      ur.num_requests = end_r - first_r;
      ur.first_ts_ms = sb.ts_ms[first_r];
      ur.last_ts_ms = sb.ts_ms[end_r - 1];
      ur.mean_return_hours = returns > 0 ? static_cast<float>(return_sum / returns) : std::nanf("");
      ur.mean_session_length =
          static_cast<float>(static_cast<double>(ur.num_requests) / ur.num_sessions);
      value.clear();
      EncodeUserValue(ur, &value);
      RETURN_IF_ERROR(FromRocks(wb.Put(cf_u, prefix, value), impl_->dir, "batch put"));
    }
    return FromRocks(impl_->db->Write(impl_->write_options(), &wb), impl_->dir, "write batch");
  });
}

absl::Status ReplayStore::WriteItems(const ItemTable& items) {
  if (items.dim <= 0 || items.embedding.size() != items.size() * items.dim) {
    return absl::InvalidArgumentError(absl::StrCat("malformed ItemTable: ", items.size(),
                                                   " items of dim ", items.dim, " but ",
                                                   items.embedding.size(), " embedding floats"));
  }
  return Guarded(impl_->dir, "write items", [&]() -> absl::Status {
    RETURN_IF_ERROR(impl_->CheckOpen());
    rocksdb::WriteBatch wb;
    ReplayItemRecord rec;
    std::string value;
    auto* cf = impl_->cf(ReplayTable::kItems);
    RETURN_IF_ERROR(
        FromRocks(wb.DeleteRange(cf, "", std::string(5, '\xff')), impl_->dir, "items delete"));
    for (size_t i = 0; i < items.size(); ++i) {
      rec.item_id = items.item_id[i];
      rec.embedding.assign(items.row(i), items.row(i) + items.dim);
      value.clear();
      EncodeItemValue(rec, &value);
      RETURN_IF_ERROR(FromRocks(wb.Put(cf, ReplayItemKey(static_cast<uint32_t>(i)), value),
                                impl_->dir, "items put"));
    }
    return FromRocks(impl_->db->Write(impl_->write_options(), &wb), impl_->dir, "write items");
  });
}

absl::StatusOr<uint64_t> ReplayStore::DeleteUsersExcept(const absl::flat_hash_set<int64_t>& keep) {
  return Guarded(impl_->dir, "delete users", [&]() -> absl::StatusOr<uint64_t> {
    RETURN_IF_ERROR(impl_->CheckOpen());
    uint64_t deleted = 0;
    rocksdb::WriteBatch wb;
    auto flush = [&]() -> absl::Status {
      if (wb.Count() == 0) return absl::OkStatus();
      RETURN_IF_ERROR(
          FromRocks(impl_->db->Write(impl_->write_options(), &wb), impl_->dir, "delete users"));
      wb.Clear();
      return absl::OkStatus();
    };
    {
      auto c = NewCursor(ReplayTable::kUsers);
      ReplayKey k;
      for (c->SeekToFirst(); c->Valid(); c->Next()) {
        if (!ParseReplayKey(c->key(), &k) || keep.contains(k.user)) continue;
        const std::string prefix(c->key());
        const std::string end = UserRangeEnd(prefix);
        RETURN_IF_ERROR(FromRocks(wb.Delete(impl_->cf(ReplayTable::kUsers), prefix), impl_->dir,
                                  "delete users"));
        RETURN_IF_ERROR(FromRocks(wb.DeleteRange(impl_->cf(ReplayTable::kSessions), prefix, end),
                                  impl_->dir, "delete users"));
        RETURN_IF_ERROR(FromRocks(wb.DeleteRange(impl_->cf(ReplayTable::kTransitions), prefix, end),
                                  impl_->dir, "delete users"));
        ++deleted;
        if (wb.Count() >= 30000) RETURN_IF_ERROR(flush());
      }
      RETURN_IF_ERROR(c->status());
    }
    RETURN_IF_ERROR(flush());
    return deleted;
  });
}

absl::Status ReplayStore::WriteMeta(const ReplayMeta& meta, bool sync) {
  return Guarded(impl_->dir, "write meta", [&]() -> absl::Status {
    RETURN_IF_ERROR(impl_->CheckOpen());
    std::string value;
    if (!meta.SerializeToString(&value)) {
      return absl::InternalError(
          absl::StrCat("replay store ", impl_->dir, ": cannot serialize meta"));
    }
    return FromRocks(
        impl_->db->Put(impl_->write_options(sync), impl_->cf(ReplayTable::kMeta), kMetaKey, value),
        impl_->dir, "write meta");
  });
}

absl::StatusOr<ReplayMeta> ReplayStore::ReadMeta() const {
  return Guarded(impl_->dir, "read meta", [&]() -> absl::StatusOr<ReplayMeta> {
    RETURN_IF_ERROR(impl_->CheckOpen());
    std::string value;
    rocksdb::Status s =
        impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(ReplayTable::kMeta), kMetaKey, &value);
    if (s.IsNotFound()) {
      return absl::NotFoundError(absl::StrCat("replay store ", impl_->dir, ": no meta record"));
    }
    RETURN_IF_ERROR(FromRocks(s, impl_->dir, "read meta"));
    ReplayMeta meta;
    if (!meta.ParseFromString(value)) {
      return absl::DataLossError(
          absl::StrCat("replay store ", impl_->dir, ": meta does not parse"));
    }
    return meta;
  });
}

namespace {

template <class Rec, class Decode>
absl::StatusOr<Rec> DecodeRecord(const std::string& dir, ReplayTable t,
                                 const absl::StatusOr<std::string>& value, Decode decode) {
  if (!value.ok()) return value.status();
  Rec rec;
  if (!decode(*value, &rec)) {
    return absl::DataLossError(
        absl::StrCat("replay store ", dir, ": malformed ", ReplayTableName(t), " record"));
  }
  return rec;
}

}  // namespace

absl::StatusOr<std::string> ReplayStore::GetValue(ReplayTable t, const std::string& key) const {
  return Guarded(impl_->dir, "get", [&]() -> absl::StatusOr<std::string> {
    RETURN_IF_ERROR(impl_->CheckOpen());
    std::string value;
    rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(t), key, &value);
    if (s.IsNotFound()) {
      return absl::NotFoundError(absl::StrCat("replay store ", impl_->dir, ": no ",
                                              ReplayTableName(t), " record for this key"));
    }
    RETURN_IF_ERROR(FromRocks(s, impl_->dir, "get"));
    return value;
  });
}

absl::StatusOr<ReplayUserRecord> ReplayStore::GetUser(int64_t user) const {
  ASSIGN_OR_RETURN(ReplayUserRecord r,
                   DecodeRecord<ReplayUserRecord>(
                       impl_->dir, ReplayTable::kUsers,
                       GetValue(ReplayTable::kUsers, ReplayUserKey(user)), DecodeUserValue));
  r.user = user;
  return r;
}

absl::StatusOr<ReplaySessionRecord> ReplayStore::GetSession(int64_t user, uint32_t session) const {
  ASSIGN_OR_RETURN(
      ReplaySessionRecord r,
      DecodeRecord<ReplaySessionRecord>(
          impl_->dir, ReplayTable::kSessions,
          GetValue(ReplayTable::kSessions, ReplaySessionKey(user, session)), DecodeSessionValue));
  r.user = user;
  r.session = session;
  return r;
}

absl::StatusOr<ReplayTransitionRecord> ReplayStore::GetTransition(int64_t user, uint32_t session,
                                                                  uint32_t request) const {
  ASSIGN_OR_RETURN(
      ReplayTransitionRecord r,
      DecodeRecord<ReplayTransitionRecord>(
          impl_->dir, ReplayTable::kTransitions,
          GetValue(ReplayTable::kTransitions, ReplayTransitionKey(user, session, request)),
          DecodeTransitionValue));
  r.user = user;
  r.session = session;
  r.request = request;
  return r;
}

absl::Status ReplayStore::Flush() {
  return Guarded(impl_->dir, "flush", [&]() -> absl::Status {
    RETURN_IF_ERROR(impl_->CheckOpen());
    rocksdb::FlushOptions fo;
    fo.wait = true;
    std::vector<rocksdb::ColumnFamilyHandle*> all(impl_->holder->cfs.begin(),
                                                  impl_->holder->cfs.end());
    return FromRocks(impl_->db->Flush(fo, all), impl_->dir, "flush");
  });
}

absl::Status ReplayStore::CompactAll() {
  return Guarded(impl_->dir, "compact", [&]() -> absl::Status {
    RETURN_IF_ERROR(impl_->CheckOpen());
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    for (auto* h : impl_->holder->cfs) {
      RETURN_IF_ERROR(
          FromRocks(impl_->db->CompactRange(co, h, nullptr, nullptr), impl_->dir, "compact"));
    }
    return absl::OkStatus();
  });
}

absl::Status ReplayStore::Close() {
  return Guarded(impl_->dir, "close", [&]() -> absl::Status {
    if (impl_->holder == nullptr) return absl::OkStatus();
    if (impl_->holder.use_count() > 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("replay store ", impl_->dir, ": cannot close with ",
                       impl_->holder.use_count() - 1, " cursor(s) still open"));
    }
    absl::Status s = impl_->holder->CloseDb();
    impl_->holder.reset();
    impl_->db = nullptr;
    return s;
  });
}

// ---- Cursor ----

struct ReplayStore::Cursor::Impl {
  std::string dir;
  ReplayTable table;
  std::shared_ptr<DbHolder> holder;  // Declared before `it`: outlives it.
  std::unique_ptr<rocksdb::Iterator> it;

  absl::Status Bad(absl::string_view what) const {
    return absl::DataLossError(
        absl::StrCat("replay store ", dir, ": malformed ", ReplayTableName(table), " ", what));
  }
};

ReplayStore::Cursor::Cursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReplayStore::Cursor::~Cursor() = default;
void ReplayStore::Cursor::SeekToFirst() { impl_->it->SeekToFirst(); }
void ReplayStore::Cursor::Seek(absl::string_view key) {
  impl_->it->Seek(rocksdb::Slice(key.data(), key.size()));
}
bool ReplayStore::Cursor::Valid() const { return impl_->it->Valid(); }
void ReplayStore::Cursor::Next() { impl_->it->Next(); }
absl::string_view ReplayStore::Cursor::key() const {
  rocksdb::Slice k = impl_->it->key();
  return absl::string_view(k.data(), k.size());
}
absl::string_view ReplayStore::Cursor::value() const {
  rocksdb::Slice v = impl_->it->value();
  return absl::string_view(v.data(), v.size());
}
absl::Status ReplayStore::Cursor::status() const {
  return FromRocks(impl_->it->status(), impl_->dir,
                   absl::StrCat("iterating ", ReplayTableName(impl_->table)));
}

absl::Status ReplayStore::Cursor::Get(ReplayTransitionRecord* r) const {
  ReplayKey k;
  if (key().size() != 20 || !ParseReplayKey(key(), &k)) return impl_->Bad("key");
  if (!DecodeTransitionValue(value(), r)) return impl_->Bad("value");
  r->user = k.user;
  r->session = k.session;
  r->request = k.request;
  return absl::OkStatus();
}
absl::Status ReplayStore::Cursor::Get(ReplaySessionRecord* r) const {
  ReplayKey k;
  if (key().size() != 16 || !ParseReplayKey(key(), &k)) return impl_->Bad("key");
  if (!DecodeSessionValue(value(), r)) return impl_->Bad("value");
  r->user = k.user;
  r->session = k.session;
  return absl::OkStatus();
}
absl::Status ReplayStore::Cursor::Get(ReplayUserRecord* r) const {
  ReplayKey k;
  if (key().size() != 12 || !ParseReplayKey(key(), &k)) return impl_->Bad("key");
  if (!DecodeUserValue(value(), r)) return impl_->Bad("value");
  r->user = k.user;
  return absl::OkStatus();
}
absl::Status ReplayStore::Cursor::Get(ReplayItemRecord* r) const {
  if (!ParseReplayItemKey(key(), &r->row)) return impl_->Bad("key");
  if (!DecodeItemValue(value(), r)) return impl_->Bad("value");
  return absl::OkStatus();
}

std::unique_ptr<ReplayStore::Cursor> ReplayStore::NewCursor(ReplayTable table) const {
  auto impl = std::make_unique<Cursor::Impl>();
  impl->dir = impl_->dir;
  impl->table = table;
  impl->holder = impl_->holder;
  if (impl_->db == nullptr) {
    impl->it.reset(rocksdb::NewErrorIterator(rocksdb::Status::Aborted("the store is closed")));
  } else {
    rocksdb::ReadOptions ro;
    ro.readahead_size = 2 << 20;
    ro.fill_cache = false;
    impl->it.reset(impl_->db->NewIterator(ro, impl_->cf(table)));
  }
  return std::unique_ptr<Cursor>(new Cursor(std::move(impl)));
}

namespace {

template <class Rec>
absl::Status ForEach(const ReplayStore& store, ReplayTable t,
                     const std::function<absl::Status(const Rec&)>& fn) {
  return Guarded(store.dir(), "scan", [&]() -> absl::Status {
    auto c = store.NewCursor(t);
    Rec rec;
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      RETURN_IF_ERROR(c->Get(&rec));
      RETURN_IF_ERROR(fn(rec));
    }
    return c->status();
  });
}

}  // namespace

absl::Status ReplayStore::ForEachUser(
    const std::function<absl::Status(const ReplayUserRecord&)>& fn) const {
  return ForEach<ReplayUserRecord>(*this, ReplayTable::kUsers, fn);
}
absl::Status ReplayStore::ForEachSession(
    const std::function<absl::Status(const ReplaySessionRecord&)>& fn) const {
  return ForEach<ReplaySessionRecord>(*this, ReplayTable::kSessions, fn);
}
absl::Status ReplayStore::ForEachTransition(
    const std::function<absl::Status(const ReplayTransitionRecord&)>& fn) const {
  return ForEach<ReplayTransitionRecord>(*this, ReplayTable::kTransitions, fn);
}
absl::Status ReplayStore::ForEachItem(
    const std::function<absl::Status(const ReplayItemRecord&)>& fn) const {
  return ForEach<ReplayItemRecord>(*this, ReplayTable::kItems, fn);
}

absl::StatusOr<uint64_t> ReplayStore::ContentChecksum() const {
  return Guarded(impl_->dir, "checksum", [&]() -> absl::StatusOr<uint64_t> {
    // FNV-1a over (table, key length, key, value length, value) in key order.
    uint64_t h = 1469598103934665603ULL;
    auto mix = [&h](const void* p, size_t n) {
      const auto* b = static_cast<const unsigned char*>(p);
      for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
    };
    for (ReplayTable t : {ReplayTable::kTransitions, ReplayTable::kSessions, ReplayTable::kUsers,
                          ReplayTable::kItems}) {
      const uint8_t id = static_cast<uint8_t>(t);
      mix(&id, 1);
      auto c = NewCursor(t);
      for (c->SeekToFirst(); c->Valid(); c->Next()) {
        const uint32_t kl = c->key().size(), vl = c->value().size();
        mix(&kl, 4);
        mix(c->key().data(), kl);
        mix(&vl, 4);
        mix(c->value().data(), vl);
      }
      RETURN_IF_ERROR(c->status());
    }
    return h;
  });
}

absl::StatusOr<uint64_t> ReplayStore::CountRecords(ReplayTable table) const {
  return Guarded(impl_->dir, "count", [&]() -> absl::StatusOr<uint64_t> {
    uint64_t n = 0;
    auto c = NewCursor(table);
    for (c->SeekToFirst(); c->Valid(); c->Next()) ++n;
    RETURN_IF_ERROR(c->status());
    return n;
  });
}

absl::StatusOr<ReplayStoreSizes> ReplayStore::Sizes() const {
  return Guarded(impl_->dir, "sizes", [&]() -> absl::StatusOr<ReplayStoreSizes> {
    RETURN_IF_ERROR(impl_->CheckOpen());
    ReplayStoreSizes sizes;
    for (int t = 0; t < kNumReplayTables; ++t) {
      uint64_t v = 0;
      if (impl_->db->GetIntProperty(impl_->holder->cfs[t],
                                    rocksdb::DB::Properties::kLiveSstFilesSize, &v)) {
        sizes.sst_bytes[t] = v;
      }
    }
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(impl_->dir, ec)) {
      std::error_code ec2;
      if (e.is_regular_file(ec2)) sizes.directory_bytes += e.file_size(ec2);
    }
    return sizes;
  });
}

}  // namespace resact
