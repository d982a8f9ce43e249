// Which files a reader reads: its `path` option (a file, a folder or a glob
// pattern) resolved to a sorted list of distinct files (the same file
// reached twice is an error), and that list recorded as the stage's source
// (StageContext::RecordSource: the fingerprint by which a re-run of the same
// input is told from a different input) and logged.
// Everything here is in namespace resact::ingest.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/stage.h"

namespace resact {
namespace ingest {

// The files named by `path`, in reading order:
//   - an existing file: itself;
//   - an existing folder: with `folder_names` given, the first of them
//     present in the folder (MovieLensReader: ratings.csv, ratings.dat,
//     u.data); otherwise every regular file in it whose name does not start
//     with '.' and matches one of the fnmatch(3) `folder_patterns` (all of
//     them when `folder_patterns` is empty), sorted by name. The files of
//     the folder that are not taken (hidden, not matching, not regular) are
//     appended to `skipped` when it is given;
//   - otherwise, when `path` has glob characters (* ? [): the glob(3)
//     matches, sorted, each expanded as above (a matched folder that yields
//     no file is skipped).
// Errors: NotFound naming the path or pattern when nothing matches;
// InvalidArgument naming both paths (as listed) when two of the files are
// the same file (same device and inode after following symlinks: a symlink
// to a file already listed, a folder and a file in it, ...), since a file
// read twice doubles its rows.
absl::StatusOr<std::vector<std::string>> ResolveInputFiles(
    const std::string& path, const std::vector<std::string>& folder_names,
    const std::vector<std::string>& folder_patterns = {},
    std::vector<std::string>* skipped = nullptr);

// The folder patterns of DelimitedLogReader and UserFeatureReader when their
// `folder_pattern` option is empty: *.csv, *.tsv, *.log, *.dat (so README.txt,
// *.md and the like in a data folder are not read).
const std::vector<std::string>& DefaultFolderPatterns();

// What identifies a set of input files as a source: each file's canonical
// path, size and modification time (not the content: a file rewritten with
// the same size within the filesystem's mtime resolution counts as the same).
std::string InputFilesFingerprint(const std::vector<std::string>& files);
// "3 files, 2.4 MB (first/file.csv, ...)".
std::string DescribeInputFiles(const std::vector<std::string>& files);

// ResolveInputFiles, then records the files as the stage's source
// (StageContext::RecordSource) and logs which files the stage `reader` (its
// type) of `ctx` will read: what the readers' Open() does.
// Files of a folder that were not taken are logged (how many, and the first
// few names).
absl::StatusOr<std::vector<std::string>> ResolveAndLogInputFiles(
    const StageContext& ctx, absl::string_view reader, const std::string& path,
    const std::vector<std::string>& folder_names,
    const std::vector<std::string>& folder_patterns = {});

// Total size of `files` in bytes; files whose size cannot be read count 0.
uint64_t TotalFileBytes(const std::vector<std::string>& files);

// A reader's `folder_pattern` option: the patterns given, or
// DefaultFolderPatterns() when there are none.
std::vector<std::string> FolderPatternsOrDefault(std::vector<std::string> patterns);

}  // namespace ingest
}  // namespace resact
