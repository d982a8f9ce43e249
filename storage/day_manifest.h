// Which days a daily-retraining store holds, and what ingesting one more
// day means (method.md section 6, "idempotence"): the store's manifest
// (storage/daily.proto) records every ingested day with its rows and content
// checksum, and takes the place of the batch writer's source check:
//   - a new day is an append;
//   - a known day with the same checksum is a no-op (ingesting a day twice
//     changes nothing);
//   - a known day whose content changed is an error, unless re-ingesting it
//     is asked for: then it replaces exactly that day's rows;
//   - a day older than the window (more than window_days − 1 days before the
//     newest day ingested) is refused: the state it would change (open
//     sessions, pending rewards) is final.
// Days may arrive out of order within the window.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "storage/daily.pb.h"

namespace resact {

// The ordinal of a day partition's name (a file or folder name; a trailing
// ".csv"/".tsv"/".log" is dropped): YYYY-MM-DD → days since 1970-01-01;
// "day-N", "day_N" or "N" → N. InvalidArgument naming it otherwise.
absl::StatusOr<int64_t> DayOrdinal(const std::string& name);

enum class DayAction {
  kAppend,   // A new day.
  kNoOp,     // Already ingested with the same content.
  kReplace,  // Already ingested; its rows are replaced (re-ingest asked for).
};
const char* DayActionName(DayAction a);

struct DayDecisionOptions {
  // Days within which days may arrive out of order. Default 7.
  int window_days = 7;
  // Re-ingest a known day whose content changed.
  bool reingest = false;
};

// What ingesting `day` (its name, ordinal, rows and checksum set) into a
// store with manifest `m` means; an error naming the day and what to do
// when it may not be ingested.
absl::StatusOr<DayAction> DecideDay(const DayManifest& m, const DayRecord& day,
                                    const DayDecisionOptions& options);

// `m` with `day` appended or replacing the record of the same ordinal,
// kept in ordinal order.
DayManifest WithDay(const DayManifest& m, const DayRecord& day);

}  // namespace resact
