// The replay store: a RocksDB database holding the transitions, sessions,
// users and item table of one replay, plus its ReplayMeta (storage/replay.proto).
// Tables, keys and values are described in storage/replay_format.h, how a
// ReplayBatch becomes records in storage/replay_batch_format.h. This header
// does not include rocksdb. The store's code: replay_store.cc (open, writes,
// metadata, point reads, compaction, sizes), replay_store_scan.cc (cursors
// and scans), replay_ingest.cc (the SST ingestion path of `ingest_batches`),
// replay_verify.cc (checksum verification), and the private
// replay_store_impl.{h,cc} they share; no other file includes rocksdb.
//
// Column families: transitions, sessions, users, items, meta. Blocks are
// LZ4-compressed, with ZSTD for the bottommost level when the RocksDB build
// supports them.
//
// Durability: every write goes through the write-ahead log (or, with
// `ingest_batches`, is ingested as fsynced SST files), so a process killed
// (even with SIGKILL) after a write returned loses nothing; with `sync` the
// log is fsynced on each write, which also survives power loss.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/payload.h"
#include "storage/replay.pb.h"
#include "storage/replay_format.h"

namespace resact {

// ---- The store -----------------------------------------------------------

struct ReplayStoreOptions {
  // Create the store (directory and column families) when missing.
  // Default false: opening a missing store is NotFound.
  bool create = false;
  // Open read-only (no lock; several readers may share a store). Writes fail.
  bool read_only = false;
  // fsync the write-ahead log on every write (power-loss safety). Default
  // false: a killed process loses nothing, a power cut may lose the last
  // writes.
  bool sync = false;
  // Store s_h as float16 (default) instead of float32.
  bool session_state_float16 = true;
  // Write each WriteBatch() as SST files (per column family, one per part
  // of a large batch, the parts encoded by TBB worker threads), ingested in
  // one atomic step (RocksDB IngestExternalFiles), instead of through the
  // write-ahead log and memtables: no memtable, flush or intermediate
  // compaction, far less CPU and memory. Made for filling a fresh store with
  // batches of disjoint key ranges (the data path writes users in key
  // order); overlapping batches stay correct, newer records win. A batch
  // whose users are not in key order takes the write-ahead-log path. Equally crash-safe: the files are fsynced and
  // recorded in the MANIFEST atomically before WriteBatch() returns.
  // Default false.
  bool ingest_batches = false;
};

struct ReplayStoreSizes {
  // Live SST bytes per column family, indexed by ReplayTable.
  uint64_t sst_bytes[kNumReplayTables] = {0, 0, 0, 0, 0};
  // Every file in the store directory (SSTs, WAL, MANIFEST, LOG, OPTIONS).
  uint64_t directory_bytes = 0;
};

// One SST file of a store, as `resact replay verify` checked it.
struct ReplayFileCheck {
  std::string file;   // Path of the file.
  std::string table;  // Column family ("transitions", ...).
  int level = 0;
  uint64_t bytes = 0;
  // The file's key range, decoded ("user 42 session 3 request 0", "item 7").
  std::string first_key, last_key;
  absl::Status status;  // OK, or what is damaged (DataLoss for a bad checksum).
};

struct ReplayVerifyReport {
  std::string dir;
  std::vector<ReplayFileCheck> files;
  uint64_t bytes_checked = 0;
  int damaged() const;
  // One line per damaged file (file, table, key range, error), then a summary.
  std::string Text() const;
};

// The record `resact replay verify` leaves in the store's folder
// (DIR/VERIFIED), read by `resact replay stats`. A store replaced by a later
// writer run has none until verified again.
struct ReplayVerifyRecord {
  int64_t unix_seconds = 0;
  int files = 0;
  int damaged = 0;
  uint64_t bytes = 0;
};

class ReplayStore {
 public:
  // Checks every block checksum of every live SST file of the store in
  // `dir` (opened read-only), file by file, so that every damaged file and
  // its key range is named. An error only when the store cannot be opened
  // at all (its MANIFEST or CURRENT damaged: DataLoss naming the file). With
  // `record`, writes DIR/VERIFIED.
  static absl::StatusOr<ReplayVerifyReport> Verify(const std::string& dir, bool record);
  // The last Verify record of `dir`; NotFound when it was never verified.
  static absl::StatusOr<ReplayVerifyRecord> ReadVerifyRecord(const std::string& dir);

  // Opens (or with options.create, creates) the store in `dir`. Errors name
  // the directory.
  static absl::StatusOr<std::unique_ptr<ReplayStore>> Open(const std::string& dir,
                                                           const ReplayStoreOptions& options);
  static absl::StatusOr<std::unique_ptr<ReplayStore>> Open(const std::string& dir, bool create);
  // Deletes the store in `dir` (the database's files; the directory too when
  // nothing else is left in it). OK when there is none.
  static absl::Status Destroy(const std::string& dir);
  // True when `dir` holds a RocksDB database.
  static bool Exists(const std::string& dir);

  ~ReplayStore();
  ReplayStore(const ReplayStore&) = delete;
  ReplayStore& operator=(const ReplayStore&) = delete;

  const std::string& dir() const;
  const ReplayStoreOptions& options() const;

  // Writes every user, session and transition record of `batch` in ONE
  // atomic write (a rocksdb::WriteBatch, or with `ingest_batches` one atomic
  // ingestion of SST files). Validates the batch first
  // (storage/replay_batch_format.h).
  absl::Status WriteBatch(const ReplayBatch& batch);
  // Replaces the item table (one atomic write; rows of an older, longer table
  // are deleted).
  absl::Status WriteItems(const ItemTable& items);
  // Writes the meta; `sync` forces an fsync of the log for this write.
  absl::Status WriteMeta(const ReplayMeta& meta, bool sync = false);
  // The meta; NotFound when the store has none.
  absl::StatusOr<ReplayMeta> ReadMeta() const;

  // Point lookups; NotFound when absent.
  absl::StatusOr<ReplayUserRecord> GetUser(int64_t user) const;
  absl::StatusOr<ReplaySessionRecord> GetSession(int64_t user, uint32_t session) const;
  absl::StatusOr<ReplayTransitionRecord> GetTransition(int64_t user, uint32_t session,
                                                       uint32_t request) const;

  // Flushes memtables to SST files (durable without relying on the log).
  absl::Status Flush();
  // Compacts every column family to the bottommost level, several key ranges
  // at once (one thread each).
  absl::Status CompactAll();
  // Closes the database, reporting errors; the destructor closes silently.
  absl::Status Close();

  // An iterator over one column family in key order.
  class Cursor {
   public:
    ~Cursor();
    void SeekToFirst();
    void Seek(absl::string_view key);
    bool Valid() const;
    void Next();
    absl::string_view key() const;
    absl::string_view value() const;
    // The iterator's error, with the store path (OK at a clean end).
    absl::Status status() const;
    // Decode the current record, a ReplayTransitionRecord, ReplaySessionRecord,
    // ReplayUserRecord or ReplayItemRecord (of the cursor's table); DataLoss
    // on a malformed key or value.
    template <class Rec>
    absl::Status Get(Rec* r) const;

   private:
    friend class ReplayStore;
    struct Impl;
    explicit Cursor(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
  };
  // `short_scans`: for many short scans (a user's records at a time):
  // no readahead, blocks kept in the cache. Default: one long scan.
  std::unique_ptr<Cursor> NewCursor(ReplayTable table, bool short_scans = false) const;

  // Raw writes over any tables (the meta table's keys too), committed in
  // one atomic step by Commit(): what daily ingestion
  // (stages/replay/daily_ingest.h) uses to write a day's records, its state
  // and the meta together, so a crash leaves either all or none of a day.
  class WriteSet {
   public:
    ~WriteSet();
    void Put(ReplayTable t, absl::string_view key, absl::string_view value);
    void Delete(ReplayTable t, absl::string_view key);
    // Deletes every key in [begin, end).
    void DeleteRange(ReplayTable t, absl::string_view begin, absl::string_view end);
    // Bytes of the encoded writes so far.
    size_t bytes() const;

   private:
    friend class ReplayStore;
    struct Impl;
    explicit WriteSet(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
  };
  std::unique_ptr<WriteSet> NewWriteSet() const;
  // Writes `writes` atomically (through the write-ahead log; `sync` fsyncs
  // it). An error from any Put/Delete of the set is reported here.
  absl::Status Commit(WriteSet& writes, bool sync = false);
  // The raw value under `key` of table `t`; NotFound when absent.
  absl::StatusOr<std::string> GetRaw(ReplayTable t, const std::string& key) const {
    return GetValue(t, key);
  }

  // Visit every record of a table in key order; stops at the first error.
  absl::Status ForEachUser(const std::function<absl::Status(const ReplayUserRecord&)>& fn) const;
  absl::Status ForEachSession(
      const std::function<absl::Status(const ReplaySessionRecord&)>& fn) const;
  absl::Status ForEachTransition(
      const std::function<absl::Status(const ReplayTransitionRecord&)>& fn) const;
  absl::Status ForEachItem(const std::function<absl::Status(const ReplayItemRecord&)>& fn) const;

  // A 64-bit checksum of every key and value of the data column families
  // (transitions, sessions, users, items; not meta), in key order.
  absl::StatusOr<uint64_t> ContentChecksum() const;
  // Record count of one table by a full scan.
  absl::StatusOr<uint64_t> CountRecords(ReplayTable table) const;
  absl::StatusOr<ReplayStoreSizes> Sizes() const;

 private:
  struct Impl;
  explicit ReplayStore(std::unique_ptr<Impl> impl);
  absl::StatusOr<std::string> GetValue(ReplayTable t, const std::string& key) const;
  // The record under `key` of Rec's table.
  template <class Rec>
  absl::StatusOr<Rec> GetRecord(const std::string& key) const;
  // WriteBatch() with ingest_batches (replay_ingest.cc): SST files per part
  // and table, ingested atomically.
  absl::Status IngestBatch(const ReplayBatch& batch);
  std::unique_ptr<Impl> impl_;
};

}  // namespace resact
