// The replay store (storage/replay_store.h): open, create and destroy,
// writes through the write-ahead log, metadata, point reads, flush, compaction
// and sizes. The cursors and scans are in replay_store_scan.cc, the SST
// ingestion path of `ingest_batches` in replay_ingest.cc, verification in
// replay_verify.cc; what they share is in replay_store_impl.h.
#include "storage/replay_store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/status.h"
#include "rocksdb/metadata.h"
#include "rocksdb/write_batch.h"
#include "storage/replay_batch_format.h"
#include "storage/replay_store_impl.h"

namespace resact {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMetaKey = kReplayMetaKey;

bool PathExists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// The default family (unused), then one per table in ReplayTable order.
std::vector<rocksdb::ColumnFamilyDescriptor> ColumnFamilies() {
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int t = 0; t < kNumReplayTables; ++t) {
    descs.emplace_back(ReplayTableName(static_cast<ReplayTable>(t)),
                       TableOptions(static_cast<ReplayTable>(t)));
  }
  return descs;
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
    db.info_log = RocksLogger();
    db.create_if_missing = options.create;
    db.create_missing_column_families = options.create;
    db.keep_log_file_num = 3;
    db.max_log_file_size = 4 << 20;
    // Three compaction threads: CompactAll() runs key ranges concurrently.
    db.max_background_jobs = 4;
    const std::vector<rocksdb::ColumnFamilyDescriptor> descs = ColumnFamilies();
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
      RETURN_IF_ERROR(impl->PrepareIngest(db));
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
      RETURN_IF_ERROR(FromRocks(rocksdb::DestroyDB(dir, o, ColumnFamilies()), dir, "destroy"));
    }
    // Only the database's own files are deleted (never other files a user
    // keeps in the directory); the directory goes when it is left empty.
    std::error_code ec;
    fs::remove_all(IngestDir(dir), ec);
    if (fs::is_empty(dir, ec)) fs::remove(dir, ec);
    return absl::OkStatus();
  });
}

absl::Status ReplayStore::WriteBatch(const ReplayBatch& batch) {
  RETURN_IF_ERROR(ValidateReplayBatch(batch));
  return Guarded(impl_->dir, "write batch", [&]() -> absl::Status {
    RETURN_IF_ERROR(impl_->CheckOpen());
    const SessionBatch& sb = *batch.sessions;
    const bool f16 = impl_->options.session_state_float16;
    if (impl_->options.ingest_batches && UsersInKeyOrder(sb)) return IngestBatch(batch);
    rocksdb::WriteBatch wb(/*reserved_bytes=*/sb.num_requests() * 40 +
                           sb.num_sessions() * (48 + 4 * batch.session_state_dim) + 64);
    RETURN_IF_ERROR(EncodeReplayBatch(
        batch, f16, 0, sb.num_users(),
        [&](ReplayTable t, const std::string& key, const std::string& value) {
          return FromRocks(wb.Put(impl_->cf(t), key, value), impl_->dir, "batch put");
        }));
    return FromRocks(impl_->db->Write(impl_->write_options(), &wb), impl_->dir, "write batch");
  });
}

absl::Status ReplayStore::WriteItems(const ItemTable& items) {
  RETURN_IF_ERROR(ValidateItemTable(items));
  return Guarded(impl_->dir, "write items", [&]() -> absl::Status {
    RETURN_IF_ERROR(impl_->CheckOpen());
    rocksdb::WriteBatch wb;
    auto* cf = impl_->cf(ReplayTable::kItems);
    RETURN_IF_ERROR(
        FromRocks(wb.DeleteRange(cf, "", std::string(5, '\xff')), impl_->dir, "items delete"));
    RETURN_IF_ERROR(EncodeItemTable(
        items, [&](ReplayTable, const std::string& key, const std::string& value) {
          return FromRocks(wb.Put(cf, key, value), impl_->dir, "items put");
        }));
    return FromRocks(impl_->db->Write(impl_->write_options(), &wb), impl_->dir, "write items");
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

struct ReplayStore::WriteSet::Impl {
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  rocksdb::WriteBatch wb;
  rocksdb::Status first_error;
  void Note(const rocksdb::Status& s) {
    if (!s.ok() && first_error.ok()) first_error = s;
  }
};

ReplayStore::WriteSet::WriteSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReplayStore::WriteSet::~WriteSet() = default;

void ReplayStore::WriteSet::Put(ReplayTable t, absl::string_view key, absl::string_view value) {
  impl_->Note(impl_->wb.Put(impl_->cfs[static_cast<int>(t)],
                            rocksdb::Slice(key.data(), key.size()),
                            rocksdb::Slice(value.data(), value.size())));
}

void ReplayStore::WriteSet::Delete(ReplayTable t, absl::string_view key) {
  impl_->Note(impl_->wb.Delete(impl_->cfs[static_cast<int>(t)],
                               rocksdb::Slice(key.data(), key.size())));
}

void ReplayStore::WriteSet::DeleteRange(ReplayTable t, absl::string_view begin,
                                        absl::string_view end) {
  impl_->Note(impl_->wb.DeleteRange(impl_->cfs[static_cast<int>(t)],
                                    rocksdb::Slice(begin.data(), begin.size()),
                                    rocksdb::Slice(end.data(), end.size())));
}

size_t ReplayStore::WriteSet::bytes() const { return impl_->wb.GetDataSize(); }

std::unique_ptr<ReplayStore::WriteSet> ReplayStore::NewWriteSet() const {
  auto impl = std::make_unique<WriteSet::Impl>();
  impl->cfs = impl_->holder->cfs;
  return std::unique_ptr<WriteSet>(new WriteSet(std::move(impl)));
}

absl::Status ReplayStore::Commit(WriteSet& writes, bool sync) {
  return Guarded(impl_->dir, "commit", [&]() -> absl::Status {
    RETURN_IF_ERROR(impl_->CheckOpen());
    RETURN_IF_ERROR(FromRocks(writes.impl_->first_error, impl_->dir, "write set"));
    return FromRocks(impl_->db->Write(impl_->write_options(sync), &writes.impl_->wb), impl_->dir,
                     "commit");
  });
}

template <class Rec>
absl::StatusOr<Rec> ReplayStore::GetRecord(const std::string& key) const {
  constexpr ReplayTable t = TableOf<Rec>();
  ASSIGN_OR_RETURN(std::string value, GetValue(t, key));
  Rec rec;
  if (!DecodeRecordValue(value, &rec) || !SetRecordKey(key, &rec)) {
    return absl::DataLossError(absl::StrCat("replay store ", impl_->dir, ": malformed ",
                                            ReplayTableName(t), " record"));
  }
  return rec;
}

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
  return GetRecord<ReplayUserRecord>(ReplayUserKey(user));
}
absl::StatusOr<ReplaySessionRecord> ReplayStore::GetSession(int64_t user, uint32_t session) const {
  return GetRecord<ReplaySessionRecord>(ReplaySessionKey(user, session));
}
absl::StatusOr<ReplayTransitionRecord> ReplayStore::GetTransition(int64_t user, uint32_t session,
                                                                  uint32_t request) const {
  return GetRecord<ReplayTransitionRecord>(ReplayTransitionKey(user, session, request));
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
