// Private to the replay store's files (storage/replay_store.cc, the cursors
// in replay_store_scan.cc, the SST ingestion path in replay_ingest.cc and
// replay_verify.cc): the open database, ReplayStore::Impl, the one
// conversion of rocksdb::Status, and the column family options. Not to be
// included anywhere else; storage/replay_store.h is the store's interface.
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "storage/replay_format.h"
#include "storage/replay_store.h"

namespace resact {

// The one conversion of rocksdb::Status to absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, const std::string& dir, absl::string_view what);

// RocksDB's info log, sent to glog (replay_store_impl.cc says why).
std::shared_ptr<rocksdb::Logger> RocksLogger();

// The options of one column family: block size, compression.
rocksdb::ColumnFamilyOptions TableOptions(ReplayTable t);

// Where ingest_batches writes SST files before ingesting them; anything left
// there (by a crash) was never part of the store.
std::string IngestDir(const std::string& dir);

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

// The open database. Shared by the store and its cursors, so that a cursor
// alive after the store was destroyed keeps the database open (RocksDB
// requires every iterator to be deleted before the DB).
struct DbHolder {
  std::string dir;
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;  // Indexed by ReplayTable.

  absl::Status CloseDb();
  ~DbHolder();
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
  // With options.ingest_batches (replay_ingest.cc): creates the ingestion
  // directory and the SST files' options (`db`: the database's options).
  absl::Status PrepareIngest(const rocksdb::DBOptions& db);
};

// ---- The SST ingestion path (replay_ingest.cc) ----

// Whether the batch's users are in strictly ascending key order (the
// condition for ingesting it as SST files).
bool UsersInKeyOrder(const SessionBatch& sb);

// ---- Decoding a record from its key and value ----

// Sets the key fields of a user, session or transition record (user,
// session, request) from its 12-, 16- or 20-byte key; false when the key is
// malformed or of another table.
template <class Rec>
bool SetRecordKey(absl::string_view key, Rec* r) {
  constexpr bool kSession = !std::is_same_v<Rec, ReplayUserRecord>;
  constexpr bool kRequest = std::is_same_v<Rec, ReplayTransitionRecord>;
  ReplayKey k;
  if (key.size() != 12u + 4u * (kSession + kRequest) || !ParseReplayKey(key, &k)) return false;
  r->user = k.user;
  if constexpr (kSession) r->session = k.session;
  if constexpr (kRequest) r->request = k.request;
  return true;
}
inline bool SetRecordKey(absl::string_view key, ReplayItemRecord* r) {
  return ParseReplayItemKey(key, &r->row);
}

// The record's table, and its value decoder.
template <class Rec>
constexpr ReplayTable TableOf() {
  if constexpr (std::is_same_v<Rec, ReplayTransitionRecord>) {
    return ReplayTable::kTransitions;
  } else if constexpr (std::is_same_v<Rec, ReplaySessionRecord>) {
    return ReplayTable::kSessions;
  } else if constexpr (std::is_same_v<Rec, ReplayUserRecord>) {
    return ReplayTable::kUsers;
  } else {
    static_assert(std::is_same_v<Rec, ReplayItemRecord>, "not a replay record");
    return ReplayTable::kItems;
  }
}
template <class Rec>
bool DecodeRecordValue(absl::string_view v, Rec* r) {
  if constexpr (TableOf<Rec>() == ReplayTable::kTransitions) {
    return DecodeTransitionValue(v, r);
  } else if constexpr (TableOf<Rec>() == ReplayTable::kSessions) {
    return DecodeSessionValue(v, r);
  } else if constexpr (TableOf<Rec>() == ReplayTable::kUsers) {
    return DecodeUserValue(v, r);
  } else {
    return DecodeItemValue(v, r);
  }
}

}  // namespace resact
