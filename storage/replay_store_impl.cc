#include "storage/replay_store_impl.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "glog/logging.h"
#include "rocksdb/convenience.h"
#include "rocksdb/table.h"

namespace resact {

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

namespace {

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

}  // namespace

std::shared_ptr<rocksdb::Logger> RocksLogger() {
  static const std::shared_ptr<rocksdb::Logger> logger = std::make_shared<GlogRocksLogger>();
  return logger;
}

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

std::string IngestDir(const std::string& dir) { return dir + "/ingest.tmp"; }

absl::Status DbHolder::CloseDb() {
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

DbHolder::~DbHolder() {
  absl::Status s = CloseDb();
  if (!s.ok()) LOG(WARNING) << s;
}

}  // namespace resact
