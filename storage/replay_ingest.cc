// The bulk SST ingestion path of the replay store (ReplayStoreOptions::
// ingest_batches, storage/replay_store.h): a batch whose users are in key
// order is encoded (storage/replay_batch_format.h), in parts on TBB worker
// threads, into one fsynced SST file per part and table, and all files are
// ingested in one atomic step (RocksDB IngestExternalFiles: one MANIFEST
// record). No write-ahead log, memtable or flush.
#include <algorithm>
#include <array>
#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "graph/hash.h"
#include "graph/status.h"
#include "rocksdb/sst_file_writer.h"
#include "storage/replay_batch_format.h"
#include "storage/replay_store.h"
#include "storage/replay_store_impl.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

namespace resact {

namespace fs = std::filesystem;

absl::Status ReplayStore::Impl::PrepareIngest(const rocksdb::DBOptions& db) {
  ingest_dir = IngestDir(dir);
  std::error_code ec;
  fs::create_directories(ingest_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("replay store ", dir, ": cannot create ",
                                            ingest_dir, ": ", ec.message()));
  }
  for (int t = 0; t < kNumReplayTables; ++t) {
    // Compressed like a flushed memtable; compaction applies the
    // bottommost compression later.
    rocksdb::ColumnFamilyOptions cf = TableOptions(static_cast<ReplayTable>(t));
    cf.bottommost_compression = rocksdb::kDisableCompressionOption;
    sst_options.emplace_back(db, cf);
  }
  return absl::OkStatus();
}

// Whether the batch's users are in strictly ascending key order.
bool UsersInKeyOrder(const SessionBatch& sb) {
  for (size_t u = 1; u < sb.num_users(); ++u) {
    if (!UserKeyLess(sb.user[u - 1], sb.user[u])) return false;
  }
  return true;
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

}  // namespace resact
