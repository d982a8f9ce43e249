// Files and folders written whole: a reader never sees a half-written file or
// folder, a failed write is an error naming the path and the reason (never a
// silent short file), and a checksum to tell a damaged file from a good one.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace resact {

// Writes `bytes` to `path` through PATH.tmp, fsync and a rename (then an
// fsync of the folder). InternalError (ResourceExhausted when the disk is
// full) naming the file and the reason when any step fails; PATH.tmp is
// removed then, and `path` is unchanged. A `fault_point` (graph/fault.h) is
// passed after PATH.tmp is durable and before the rename: a crash there
// leaves `path` as it was.
absl::Status WriteFileAtomically(const std::string& path, const std::string& bytes,
                                 const char* fault_point = nullptr);

// The whole file; NotFound when it cannot be opened, Internal on a read error.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Puts the folder `staging` in the place of `target` in one atomic step
// (renameat2 RENAME_EXCHANGE where the filesystem has it): a reader of
// `target` sees either the old folder or the new one, never a mix. The old
// folder ends at `staging`'s path and is removed; `target` may be missing.
// Where the filesystem cannot exchange, `target` is first renamed to
// TARGET.previous (RecoverReplacedDirectory undoes a crash between the two
// renames).
absl::Status ReplaceDirectory(const std::string& staging, const std::string& target);
// After a crash inside ReplaceDirectory's two-rename fallback: when `target`
// is missing and TARGET.previous exists, renames it back. Returns whether it
// did.
absl::StatusOr<bool> RecoverReplacedDirectory(const std::string& target);

// fsync of a folder (its entries), so renames in it survive a power cut.
absl::Status SyncDirectory(const std::string& dir);

// A 64-bit checksum of `bytes` (word-wise SplitMix64 chain, with the
// length): any change of content or length changes it, except with
// probability ~2^-64. Not cryptographic.
uint64_t Checksum64(absl::string_view bytes);

// A file framed with its checksum, for files whose format has no room for
// one (LibTorch archives): the line "RESACT-SUM1 <16 hex digits> <bytes>\n",
// then the payload.
std::string WithChecksumHeader(absl::string_view payload);
// The payload of a framed file, with *verified = true; DataLoss when its size
// or checksum disagree with the header (a damaged or cut file). A file
// without the header (written before it existed) is returned whole, with
// *verified = false.
absl::StatusOr<std::string> StripChecksumHeader(std::string file, bool* verified);

}  // namespace resact
