#include "storage/replay_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>
#include <thread>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "graph/files.h"
#include "graph/status.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/metadata.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_reader.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

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

// RocksDB's info log goes to glog (warnings and errors as WARNING, the rest
// at VLOG(2)) instead of a LOG file in the store: no file to fill a disk,
// and no write to a file that already failed (Debian's RocksDB asserts on
// an append after a failed append, so a LOG file on a full disk aborted the
// process).
class GlogRocksLogger : public rocksdb::Logger {
 public:
  GlogRocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    const bool warn = level >= rocksdb::InfoLogLevel::WARN_LEVEL;
    if (!warn && !VLOG_IS_ON(2)) return;
    char buf[1024];
    va_list copy;
    va_copy(copy, ap);
    std::vsnprintf(buf, sizeof(buf), format, copy);
    va_end(copy);
    if (warn) {
      LOG(WARNING) << "rocksdb: " << buf;
    } else {
      VLOG(2) << "rocksdb: " << buf;
    }
  }
};

std::shared_ptr<rocksdb::Logger> RocksLogger() {
  static const std::shared_ptr<rocksdb::Logger> logger = std::make_shared<GlogRocksLogger>();
  return logger;
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

  // ingest_batches: options of the SST files, per table, and the directory
  // they are written to before they are ingested.
  std::vector<rocksdb::Options> sst_options;
  std::string ingest_dir;
  std::atomic<uint64_t> next_ingest_file{0};

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

// Where ingest_batches writes SST files before ingesting them; anything left
// there (by a crash) was never part of the store.
std::string IngestDir(const std::string& dir) { return dir + "/ingest.tmp"; }

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
    db.info_log = RocksLogger();
    db.create_if_missing = options.create;
    db.create_missing_column_families = options.create;
    db.keep_log_file_num = 3;
    db.max_log_file_size = 4 << 20;
    // Three compaction threads: CompactAll() runs key ranges concurrently.
    db.max_background_jobs = 4;
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
    if (!options.read_only) {
      std::error_code ec;
      fs::remove_all(IngestDir(dir), ec);  // Files of a write that never finished.
    }
    if (options.ingest_batches && !options.read_only) {
      impl->ingest_dir = IngestDir(dir);
      std::error_code ec;
      fs::create_directories(impl->ingest_dir, ec);
      if (ec) {
        return absl::InternalError(absl::StrCat("replay store ", dir, ": cannot create ",
                                                impl->ingest_dir, ": ", ec.message()));
      }
      for (int t = 0; t < kNumReplayTables; ++t) {
        // Compressed like a flushed memtable; compaction applies the
        // bottommost compression later.
        rocksdb::ColumnFamilyOptions cf = TableOptions(static_cast<ReplayTable>(t));
        cf.bottommost_compression = rocksdb::kDisableCompressionOption;
        impl->sst_options.emplace_back(db, cf);
      }
    }
    VLOG(1) << "opened replay store " << dir << (options.read_only ? " (read-only)" : "");
    return std::unique_ptr<ReplayStore>(new ReplayStore(std::move(impl)));
  });
}

absl::Status ReplayStore::Destroy(const std::string& dir) {
  return Guarded(dir, "destroy", [&]() -> absl::Status {
    if (!PathExists(dir)) return absl::OkStatus();
    if (Exists(dir)) {
      rocksdb::Options o;
      o.info_log = RocksLogger();
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
    fs::remove_all(IngestDir(dir), ec);
    if (fs::is_empty(dir, ec)) fs::remove(dir, ec);
    return absl::OkStatus();
  });
}

namespace {

// Upper bound (exclusive) of every session/transition key of a user prefix.
std::string UserRangeEnd(const std::string& prefix) { return prefix + std::string(9, '\xff'); }

// Encodes every record of users [u_begin, u_end) of `batch`, calling
// put(table, key, value) per record: for each user (in batch order) its
// sessions, each followed by its transitions, then the user record. Within
// one table, keys come in ascending order when the users are in key order.
template <class Put>
absl::Status EncodeReplayBatch(const ReplayBatch& batch, bool f16, size_t u_begin, size_t u_end,
                               Put&& put) {
  const SessionBatch& sb = *batch.sessions;
  const int dim = batch.session_state_dim;
  std::string key, value;
  ReplayTransitionRecord tr;
  ReplaySessionRecord sr;
  ReplayUserRecord ur;
  for (size_t u = u_begin; u < u_end; ++u) {
    const int64_t user = sb.user[u];
    const uint32_t s_begin = sb.user_offset[u], s_end = sb.user_offset[u + 1];
    const std::string prefix = ReplayUserKey(user);
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
      RETURN_IF_ERROR(put(ReplayTable::kSessions, key, value));
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
        RETURN_IF_ERROR(put(ReplayTable::kTransitions, key, value));
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
    RETURN_IF_ERROR(put(ReplayTable::kUsers, prefix, value));
  }
  return absl::OkStatus();
}

// Whether the batch's users are in strictly ascending key order.
bool UsersInKeyOrder(const SessionBatch& sb) {
  for (size_t u = 1; u < sb.num_users(); ++u) {
    if (!(ReplayUserKey(sb.user[u - 1]) < ReplayUserKey(sb.user[u]))) return false;
  }
  return true;
}

}  // namespace

absl::Status ReplayStore::WriteBatch(const ReplayBatch& batch, bool replace_users) {
  RETURN_IF_ERROR(ValidateReplayBatch(batch));
  return Guarded(impl_->dir, "write batch", [&]() -> absl::Status {
    RETURN_IF_ERROR(impl_->CheckOpen());
    const SessionBatch& sb = *batch.sessions;
    const bool f16 = impl_->options.session_state_float16;
    if (impl_->options.ingest_batches && !replace_users && UsersInKeyOrder(sb)) {
      return IngestBatch(batch);
    }
    rocksdb::WriteBatch wb(/*reserved_bytes=*/sb.num_requests() * 40 +
                           sb.num_sessions() * (48 + 4 * batch.session_state_dim) + 64);
    if (replace_users) {
      auto* cf_t = impl_->cf(ReplayTable::kTransitions);
      auto* cf_s = impl_->cf(ReplayTable::kSessions);
      for (size_t u = 0; u < sb.num_users(); ++u) {
        const std::string prefix = ReplayUserKey(sb.user[u]);
        const std::string end = UserRangeEnd(prefix);
        RETURN_IF_ERROR(FromRocks(wb.DeleteRange(cf_s, prefix, end), impl_->dir, "batch delete"));
        RETURN_IF_ERROR(FromRocks(wb.DeleteRange(cf_t, prefix, end), impl_->dir, "batch delete"));
      }
    }
    RETURN_IF_ERROR(EncodeReplayBatch(
        batch, f16, 0, sb.num_users(),
        [&](ReplayTable t, const std::string& key, const std::string& value) {
          return FromRocks(wb.Put(impl_->cf(t), key, value), impl_->dir, "batch put");
        }));
    return FromRocks(impl_->db->Write(impl_->write_options(), &wb), impl_->dir, "write batch");
  });
}

absl::Status ReplayStore::IngestBatch(const ReplayBatch& batch) {
  constexpr ReplayTable kTables[] = {ReplayTable::kTransitions, ReplayTable::kSessions,
                                     ReplayTable::kUsers};
  constexpr int kNumTables = 3;
  // The users are cut into parts of similar request counts (one per worker
  // thread, at least kMinPartRequests each), encoded in parallel, each part
  // into its own files; the parts' key ranges are disjoint and ascending.
  constexpr size_t kMinPartRequests = 16384;
  const SessionBatch& sb = *batch.sessions;
  const size_t requests = sb.num_requests();
  const int parts = static_cast<int>(std::max<size_t>(
      1, std::min<size_t>(tbb::this_task_arena::max_concurrency(), requests / kMinPartRequests)));
  std::vector<size_t> first_user(parts + 1, sb.num_users());
  first_user[0] = 0;
  for (int p = 1, u = 0; p < parts; ++p) {
    const uint64_t target = requests * p / parts;
    while (u < static_cast<int>(sb.num_users()) && sb.session_offset[sb.user_offset[u]] < target) {
      ++u;
    }
    first_user[p] = u;
  }
  struct File {
    std::string path;
    std::unique_ptr<rocksdb::SstFileWriter> writer;
    uint64_t entries = 0;
  };
  std::vector<std::array<File, kNumTables>> files(parts);
  std::vector<absl::Status> status(parts);
  const uint64_t id = impl_->next_ingest_file++;
  auto write_part = [&](int p) -> absl::Status {
    for (int k = 0; k < kNumTables; ++k) {
      const ReplayTable t = kTables[k];
      File& f = files[p][k];
      f.path = absl::StrCat(impl_->ingest_dir, "/", id, "-", p, "-", ReplayTableName(t), ".sst");
      // The page cache keeps the file: compaction reads it again soon.
      f.writer = std::make_unique<rocksdb::SstFileWriter>(
          rocksdb::EnvOptions(), impl_->sst_options[static_cast<int>(t)], impl_->cf(t),
          /*invalidate_page_cache=*/false);
      RETURN_IF_ERROR(FromRocks(f.writer->Open(f.path), impl_->dir, "open an SST file to ingest"));
    }
    RETURN_IF_ERROR(EncodeReplayBatch(
        batch, impl_->options.session_state_float16, first_user[p], first_user[p + 1],
        [&](ReplayTable t, const std::string& key, const std::string& value) {
          File& f = files[p][std::find(kTables, kTables + kNumTables, t) - kTables];
          ++f.entries;
          return FromRocks(f.writer->Put(key, value), impl_->dir, "SST put");
        }));
    for (File& f : files[p]) {
      // Finish() fsyncs the file.
      if (f.entries > 0) {
        RETURN_IF_ERROR(FromRocks(f.writer->Finish(), impl_->dir, "finish an SST file to ingest"));
      }
      f.writer.reset();
    }
    return absl::OkStatus();
  };
  tbb::parallel_for(0, parts, [&](int p) {
    try {
      status[p] = write_part(p);
    } catch (const std::exception& e) {
      status[p] = absl::InternalError(absl::StrCat("replay store ", impl_->dir, ": ", e.what()));
    }
  });
  absl::Status s;
  for (const absl::Status& ps : status) s.Update(ps);
  // All tables' files in one atomic step (one MANIFEST record).
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (int k = 0; k < kNumTables && s.ok(); ++k) {
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = impl_->cf(kTables[k]);
    arg.options.move_files = true;
    for (int p = 0; p < parts; ++p) {
      if (files[p][k].entries > 0) arg.external_files.push_back(files[p][k].path);
    }
    if (!arg.external_files.empty()) args.push_back(std::move(arg));
  }
  if (s.ok() && !args.empty()) {
    s = FromRocks(impl_->db->IngestExternalFiles(args), impl_->dir, "ingest a batch");
  }
  // Ingested files were moved; this removes the rest.
  std::error_code ec;
  for (auto& part : files) {
    for (File& f : part) {
      f.writer.reset();
      if (!f.path.empty()) fs::remove(f.path, ec);
    }
  }
  return s;
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
    // One compaction runs on one thread, so the work is cut into key ranges
    // compacted concurrently: each column family, and a large one whose files
    // all sit in one level (ingested batches) in two halves by size, cut at a
    // file boundary so the halves share no file.
    struct Range {
      rocksdb::ColumnFamilyHandle* cf;
      std::string begin, end;  // Empty: open.
    };
    std::vector<Range> ranges;
    constexpr uint64_t kSplitBytes = 64 << 20;
    for (rocksdb::ColumnFamilyHandle* cf : impl_->holder->cfs) {
      rocksdb::ColumnFamilyMetaData meta;
      impl_->db->GetColumnFamilyMetaData(cf, &meta);
      const rocksdb::LevelMetaData* only = nullptr;
      int levels = 0;
      for (const rocksdb::LevelMetaData& level : meta.levels) {
        if (!level.files.empty()) ++levels, only = &level;
      }
      if (levels == 1 && only->level > 0 && only->files.size() > 1 && meta.size >= kSplitBytes) {
        uint64_t sum = 0;
        size_t cut = 1;
        for (; cut < only->files.size(); ++cut) {
          sum += only->files[cut - 1].size;
          if (2 * sum >= meta.size) break;
        }
        cut = std::min(cut, only->files.size() - 1);
        ranges.push_back({cf, "", only->files[cut - 1].largestkey});
        ranges.push_back({cf, only->files[cut].smallestkey, ""});
      } else {
        ranges.push_back({cf, "", ""});
      }
    }
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    co.exclusive_manual_compaction = false;
    std::vector<rocksdb::Status> status(ranges.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < ranges.size(); ++i) {
      threads.emplace_back([&, i] {
        const Range& r = ranges[i];
        const rocksdb::Slice begin(r.begin), end(r.end);
        try {
          status[i] = impl_->db->CompactRange(co, r.cf, r.begin.empty() ? nullptr : &begin,
                                              r.end.empty() ? nullptr : &end);
        } catch (const std::exception& e) {
          status[i] = rocksdb::Status::Aborted(e.what());
        }
      });
    }
    for (std::thread& t : threads) t.join();
    for (const rocksdb::Status& st : status) {
      RETURN_IF_ERROR(FromRocks(st, impl_->dir, "compact"));
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

// ---- Verification ----

namespace {

constexpr char kVerifyFile[] = "VERIFIED";

std::string DescribeKey(const std::string& table, const std::string& key) {
  if (table == "items") {
    uint32_t row = 0;
    if (ParseReplayItemKey(key, &row)) return absl::StrCat("item ", row);
  } else if (table != "meta") {
    ReplayKey k;
    if (ParseReplayKey(key, &k)) {
      if (key.size() == 12) return absl::StrCat("user ", k.user);
      if (key.size() == 16) return absl::StrCat("user ", k.user, " session ", k.session);
      return absl::StrCat("user ", k.user, " session ", k.session, " request ", k.request);
    }
  }
  std::string hex;
  for (unsigned char c : key.substr(0, 24)) absl::StrAppend(&hex, absl::StrFormat("%02x", c));
  return absl::StrCat("key 0x", hex, key.size() > 24 ? "..." : "");
}

}  // namespace

int ReplayVerifyReport::damaged() const {
  int n = 0;
  for (const ReplayFileCheck& f : files) n += f.status.ok() ? 0 : 1;
  return n;
}

std::string ReplayVerifyReport::Text() const {
  std::string out;
  for (const ReplayFileCheck& f : files) {
    if (f.status.ok()) continue;
    absl::StrAppend(&out, "DAMAGED ", f.file, "  (", f.table, ", level ", f.level, ", ", f.bytes,
                    " bytes)  keys ", f.first_key, " .. ", f.last_key, "\n  ", f.status.message(),
                    "\n");
  }
  absl::StrAppend(&out, "replay ", dir, ": ", files.size(), " files, ",
                  absl::StrFormat("%.1f MB", static_cast<double>(bytes_checked) / 1e6), " checked; ",
                  damaged() == 0 ? std::string("every block checksum is correct")
                                 : absl::StrCat(damaged(), " damaged"),
                  "\n");
  return out;
}

absl::StatusOr<ReplayVerifyReport> ReplayStore::Verify(const std::string& dir, bool record) {
  return Guarded(dir, "verify", [&]() -> absl::StatusOr<ReplayVerifyReport> {
    ReplayStoreOptions ro;
    ro.read_only = true;
    ASSIGN_OR_RETURN(std::unique_ptr<ReplayStore> store, Open(dir, ro));
    std::vector<rocksdb::LiveFileMetaData> live;
    store->impl_->db->GetLiveFilesMetaData(&live);
    std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
      return std::tie(a.column_family_name, a.level, a.name) <
             std::tie(b.column_family_name, b.level, b.name);
    });
    ReplayVerifyReport report;
    report.dir = dir;
    rocksdb::Options options;
    options.info_log = RocksLogger();
    for (const rocksdb::LiveFileMetaData& m : live) {
      ReplayFileCheck f;
      f.file = m.db_path + m.name;
      f.table = m.column_family_name;
      f.level = m.level;
      f.bytes = m.size;
      f.first_key = DescribeKey(f.table, m.smallestkey);
      f.last_key = DescribeKey(f.table, m.largestkey);
      rocksdb::SstFileReader reader(options);
      rocksdb::Status s = reader.Open(f.file);
      if (s.ok()) s = reader.VerifyChecksum();
      f.status = FromRocks(s, dir, absl::StrCat("file ", f.file));
      report.bytes_checked += m.size;
      report.files.push_back(std::move(f));
    }
    RETURN_IF_ERROR(store->Close());
    if (record) {
      RETURN_IF_ERROR(WriteFileAtomically(
          (fs::path(dir) / kVerifyFile).string(),
          absl::StrCat(absl::ToUnixSeconds(absl::Now()), " ", report.files.size(), " ",
                       report.damaged(), " ", report.bytes_checked, "\n")));
    }
    return report;
  });
}

absl::StatusOr<ReplayVerifyRecord> ReplayStore::ReadVerifyRecord(const std::string& dir) {
  const std::string path = (fs::path(dir) / kVerifyFile).string();
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<std::string> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(text), ' ', absl::SkipEmpty());
  ReplayVerifyRecord r;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &r.unix_seconds) ||
      !absl::SimpleAtoi(parts[1], &r.files) || !absl::SimpleAtoi(parts[2], &r.damaged) ||
      !absl::SimpleAtoi(parts[3], &r.bytes)) {
    return absl::DataLossError(absl::StrCat(path, ": not a verify record"));
  }
  return r;
}

}  // namespace resact
