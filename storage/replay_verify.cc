// Verification of a replay store (ReplayStore::Verify, `resact replay
// verify`): every block checksum of every live SST file, file by file, and
// the DIR/VERIFIED record `resact replay stats` reads.
#include <algorithm>
#include <filesystem>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "graph/files.h"
#include "graph/status.h"
#include "rocksdb/metadata.h"
#include "rocksdb/sst_file_reader.h"
#include "storage/replay_store.h"
#include "storage/replay_store_impl.h"

namespace resact {

namespace fs = std::filesystem;

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
