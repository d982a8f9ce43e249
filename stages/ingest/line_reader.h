// What the log readers (MovieLensReader, DelimitedLogReader) share:
//   - ResolveInputFiles: a path option (file, folder or glob pattern) to the
//     list of files to read;
//   - LineReader: a file read in large blocks (8 MiB by default) as numbered
//     lines, without copies, handling CRLF, a UTF-8 byte-order mark and a
//     last line without a newline;
//   - FieldSplitter and the Parse* functions: fields and numbers without
//     allocation (std::from_chars for integers, fast_float for floats);
//   - RowError/FieldError: the "file:line: column 'c': expected X, got 'v'"
//     messages of malformed rows;
//   - IngestRun: one Generate() call's bookkeeping: batches of `batch_rows`
//     rows, progress, cancellation, the malformed-row budget, the summary.
// Everything here is in namespace resact::ingest.
#pragma once

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fast_float/fast_float.h"
#include "graph/payload.h"
#include "graph/stage.h"

namespace resact {
namespace ingest {

// ---------------------------------------------------------------------------
// Column specs and header names (the delimited readers' column options).

// One mapped column as a reader's options give it.
struct ColumnOption {
  std::string option;  // Option field, e.g. "user_column".
  std::string spec;    // Header name or index, e.g. "user_id" or "0".
  int index = -1;      // The index when `spec` is all digits (at most 6), else -1.
};

// The column option `option` = `spec`. InvalidArgument naming the option
// when `spec` is empty, or is a header name while the file has no header.
absl::StatusOr<ColumnOption> ParseColumnOption(const std::string& option, const std::string& spec,
                                               bool has_header);

// InvalidArgument unless `delimiter` is non-empty and has no line break.
absl::Status CheckDelimiter(const std::string& delimiter);

// ---------------------------------------------------------------------------
// Input files.

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

// ---------------------------------------------------------------------------
// Lines.

// Reads a file as lines, a large block at a time. A line is returned without
// its "\n" or "\r\n"; a last line without a newline is returned too; a UTF-8
// byte-order mark at the start of the file is dropped. The returned view is
// valid until the next call of Next() or Open(). A line longer than the
// block grows the buffer, up to kMaxLineBytes. One reader can read many
// files in turn.
class LineReader {
 public:
  static constexpr size_t kDefaultBlockBytes = size_t{8} << 20;
  // A longer line is an error (InvalidArgument), not an unbounded buffer.
  static constexpr size_t kMaxLineBytes = size_t{64} << 20;

  explicit LineReader(size_t block_bytes = kDefaultBlockBytes,
                      size_t max_line_bytes = kMaxLineBytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Opens `path` (closing the previous file). Error: the file cannot be
  // opened, naming it and the reason.
  absl::Status Open(const std::string& path);
  void Close();

  // The next line, or false at the end of the file or on a read error (then
  // status() is not OK).
  bool Next(absl::string_view* line);

  // True once Next() has returned a last line that had no newline (a file
  // cut while being written, or an editor that drops the final newline).
  bool last_line_unterminated() const { return unterminated_; }
  // 1-based number of the line last returned by Next(); 0 before the first.
  int64_t line_number() const { return line_number_; }
  // Bytes read from the file so far.
  uint64_t bytes_read() const { return bytes_read_; }
  // OK unless reading failed.
  const absl::Status& status() const { return status_; }
  const std::string& path() const { return path_; }

 private:
  // Moves the unread tail to the front and reads the next block; sets eof_
  // at the end of the file and status_ on an error.
  void Refill();

  std::string path_;
  FILE* file_ = nullptr;
  std::unique_ptr<char[]> buf_;
  size_t capacity_;
  const size_t max_line_bytes_;
  size_t pos_ = 0;  // First unread byte in buf_.
  size_t end_ = 0;  // One past the last valid byte in buf_.
  bool eof_ = true;
  bool unterminated_ = false;
  int64_t line_number_ = 0;
  uint64_t bytes_read_ = 0;
  absl::Status status_;
};

inline bool LineReader::Next(absl::string_view* line) {
  for (;;) {
    const char* begin = buf_.get() + pos_;
    const size_t avail = end_ - pos_;
    const char* nl =
        avail == 0 ? nullptr : static_cast<const char*>(std::memchr(begin, '\n', avail));
    size_t len;
    if (nl != nullptr) {
      len = static_cast<size_t>(nl - begin);
      pos_ += len + 1;
    } else if (eof_) {
      if (avail == 0) return false;
      len = avail;
      pos_ = end_;
      unterminated_ = true;
    } else {
      Refill();
      if (!status_.ok()) return false;
      continue;
    }
    if (len > 0 && begin[len - 1] == '\r') --len;
    ++line_number_;
    if (line_number_ == 1 && len >= 3 && std::memcmp(begin, "\xEF\xBB\xBF", 3) == 0) {
      begin += 3;
      len -= 3;
    }
    *line = absl::string_view(begin, len);
    return true;
  }
}

// ---------------------------------------------------------------------------
// Fields.

// Splits lines at a delimiter of one or more characters into views of the
// line, with surrounding spaces removed. An empty line has one empty field.
class FieldSplitter {
 public:
  explicit FieldSplitter(std::string delimiter = ",");
  // Splits `line`; returns the number of fields. The views point into `line`.
  size_t Split(absl::string_view line);
  size_t size() const { return fields_.size(); }
  absl::string_view operator[](size_t i) const { return fields_[i]; }
  const std::vector<absl::string_view>& fields() const { return fields_; }
  const std::string& delimiter() const { return delimiter_; }

 private:
  std::string delimiter_;
  std::vector<absl::string_view> fields_;
};

inline absl::string_view TrimSpaces(absl::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && s[b] == ' ') ++b;
  while (e > b && s[e - 1] == ' ') --e;
  return s.substr(b, e - b);
}

// A header name without surrounding spaces or double quotes.
inline absl::string_view HeaderName(absl::string_view f) {
  f = TrimSpaces(f);
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
  return f;
}

inline size_t FieldSplitter::Split(absl::string_view line) {
  fields_.clear();
  const char* p = line.data();
  const char* const end = p + line.size();
  const size_t dlen = delimiter_.size();
  if (dlen == 1) {
    const char d = delimiter_[0];
    for (;;) {
      const char* q = p == end ? nullptr
                               : static_cast<const char*>(std::memchr(p, d, end - p));
      const char* field_end = q == nullptr ? end : q;
      absl::string_view f(p, static_cast<size_t>(field_end - p));
      if (!f.empty() && (f.front() == ' ' || f.back() == ' ')) f = TrimSpaces(f);
      fields_.push_back(f);
      if (q == nullptr) break;
      p = q + 1;
    }
  } else {
    absl::string_view rest = line;
    for (;;) {
      size_t q = rest.find(absl::string_view(delimiter_));
      absl::string_view f = rest.substr(0, q);
      if (!f.empty() && (f.front() == ' ' || f.back() == ' ')) f = TrimSpaces(f);
      fields_.push_back(f);
      if (q == absl::string_view::npos) break;
      rest.remove_prefix(q + dlen);
    }
  }
  return fields_.size();
}

// "tab", "','", "'::'": a delimiter for messages.
std::string DescribeDelimiter(absl::string_view delimiter);

// ---------------------------------------------------------------------------
// Numbers. Each parses the whole of `s` (no spaces, no leading '+').

// A decimal int64.
inline bool ParseInt64(absl::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, *out);
  return r.ec == std::errc() && r.ptr == end;
}

// A finite float: NaN, infinities and values beyond the float range fail.
inline bool ParseFiniteFloat(absl::string_view s, float* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  float v;
  auto r = fast_float::from_chars(s.data(), end, v);
  if (r.ec != std::errc() || r.ptr != end || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

enum class TimeUnit { kSeconds, kMilliseconds, kMicroseconds };

enum class TimestampResult {
  kOk,
  kNotANumber,  // Not a number (or, without fractions, not an integer).
  kNegative,    // A number below zero.
  kOutOfRange,  // Beyond int64 milliseconds.
};

TimestampResult ParseTimestampSlow(absl::string_view s, TimeUnit unit, bool allow_fraction,
                                   int64_t* ms);

// A non-negative Unix time in `unit`, as milliseconds (fractions of a
// millisecond truncated). Integers always; with `allow_fraction` also
// decimals ("1.5") and exponents ("1.6e9").
inline TimestampResult ParseTimestampMs(absl::string_view s, TimeUnit unit, bool allow_fraction,
                                        int64_t* ms) {
  if (s.empty()) return TimestampResult::kNotANumber;
  const char* end = s.data() + s.size();
  int64_t v;
  auto r = std::from_chars(s.data(), end, v);
  if (r.ec != std::errc() || r.ptr != end) {
    return ParseTimestampSlow(s, unit, allow_fraction, ms);
  }
  if (v < 0) return TimestampResult::kNegative;
  switch (unit) {
    case TimeUnit::kSeconds:
      if (v > std::numeric_limits<int64_t>::max() / 1000) return TimestampResult::kOutOfRange;
      *ms = v * 1000;
      break;
    case TimeUnit::kMilliseconds:
      *ms = v;
      break;
    case TimeUnit::kMicroseconds:
      *ms = v / 1000;
      break;
  }
  return TimestampResult::kOk;
}

// The plausible window of request times (the readers' min_timestamp and
// max_timestamp options, Unix seconds, both included), to catch a wrong unit
// (milliseconds read as seconds land in the year 50000) or a wrong column.
struct TimestampWindow {
  int64_t min_s = 788918400;   // 1995-01-01
  int64_t max_s = 4102444800;  // 2100-01-01
  // In milliseconds, saturated: compared with the parsed ts_ms.
  int64_t min_ms = 788918400000;
  int64_t max_ms = 4102444800000;
  // Added to the message, e.g. "are these milliseconds read as seconds?
  // (see timestamp_unit)"; one for times above the window, one for below.
  std::string hint_above, hint_below;

  // InvalidArgument naming the option when min_s > max_s.
  static absl::StatusOr<TimestampWindow> Make(int64_t min_s, int64_t max_s);
  bool Contains(int64_t ts_ms) const { return ts_ms >= min_ms && ts_ms <= max_ms; }
};

// "FILE:LINE: COLUMN: 32503680000 s (3000-01-01) is outside the plausible
// window [1995-01-01, 2100-01-01] (options min_timestamp, max_timestamp);
// HINT" (InvalidArgument), for a `ts_ms` that `window` does not contain.
absl::Status TimestampWindowError(const std::string& file, int64_t line, absl::string_view column,
                                  int64_t ts_ms, const TimestampWindow& window);
// "2001-01-04" (UTC) of Unix seconds `s`.
std::string UtcDate(int64_t s);

// ---------------------------------------------------------------------------
// Malformed-row messages (InvalidArgument).

// "FILE:LINE: MESSAGE".
absl::Status RowError(const std::string& file, int64_t line, absl::string_view message);
// "FILE:LINE: COLUMN: expected EXPECTED, got 'VALUE'"; `column` is e.g.
// "column 'timestamp'" or "column 3"; a long value is shortened.
absl::Status FieldError(const std::string& file, int64_t line, absl::string_view column,
                        absl::string_view expected, absl::string_view value);
// "FILE:LINE: COLUMN: empty field".
absl::Status EmptyFieldError(const std::string& file, int64_t line, absl::string_view column);
// `s` quoted for a message, shortened to about 60 characters.
std::string Quote(absl::string_view s);

// ---------------------------------------------------------------------------
// One Generate() call of a reader.

// Which optional RequestBatch columns the reader fills.
struct RequestColumns {
  bool feedback = false;
  bool session_id = false;
  bool behaviour_logprob = false;
  int num_extra = 0;
};

// Collects rows into RequestBatch packets of `batch_rows` rows and emits them
// on output 0; reports bytes and rows to the stage's progress; checks for
// cancellation after every batch; enforces `max_bad_rows`; logs a summary.
// A batch never spans two files: its `source` is the file.
//
//   IngestRun run(ctx, out, files, batch_rows, max_bad_rows, columns);
//   for (size_t i = 0; i < files.size(); ++i) {
//     RETURN_IF_ERROR(run.OpenFile(i));
//     while (run.reader().Next(&line)) {
//       ... parse; on a malformed row: RETURN_IF_ERROR(run.Malformed(error));
//       ... append one row to run.batch(); RETURN_IF_ERROR(run.RowAdded());
//     }
//     RETURN_IF_ERROR(run.FinishFile());
//   }
//   run.LogSummary("MovieLensReader");
class IngestRun {
 public:
  IngestRun(const StageContext& ctx, Emitter& out, const std::vector<std::string>& files,
            int batch_rows, int64_t max_bad_rows, RequestColumns columns);

  // Starts file `i` of `files`: opens it and begins a new batch.
  absl::Status OpenFile(size_t i);
  LineReader& reader() { return reader_; }
  const std::string& file() const { return reader_.path(); }
  // The batch rows are appended to; every column the reader fills gets one
  // value per row (extra: num_extra values).
  RequestBatch& batch() { return *batch_; }

  // After appending one row to batch(): emits the batch once it is full.
  // A non-OK status (emit failed, run cancelled) must be returned.
  absl::Status RowAdded() {
    if (batch_->user.size() < static_cast<size_t>(batch_rows_)) return absl::OkStatus();
    return Flush();
  }
  // A malformed row: OK when it may be skipped (it is counted, and the first
  // few are logged), else the error to return: `row_error` itself when
  // max_bad_rows is 0, or one saying max_bad_rows was exceeded.
  absl::Status Malformed(const absl::Status& row_error);
  // Ends the current file: a read error becomes the status; the last,
  // possibly short, batch is emitted. A last line without a newline is
  // logged as a WARNING naming the file and the line. `had_header`: the file
  // had a header line (for the message of an input without rows).
  absl::Status FinishFile(bool had_header = false);

  // After every file: FailedPrecondition naming `path` (the path option)
  // and what was found (empty files, header-only files, malformed rows
  // skipped) when no row was read, unless `allow_empty` (then a WARNING).
  absl::Status CheckNotEmpty(const std::string& path, bool allow_empty) const;

  // LOG(INFO): rows, batches, files, bytes, rate; with max_bad_rows > 0 also
  // the skipped rows (even when 0).
  void LogSummary(absl::string_view stage_type) const;

  uint64_t rows() const { return rows_; }
  int64_t skipped() const { return skipped_; }

 private:
  void NewBatch();
  absl::Status Flush();

  const StageContext& ctx_;
  Emitter& out_;
  const std::vector<std::string>& files_;
  const int batch_rows_;
  const int64_t max_bad_rows_;
  const RequestColumns columns_;
  const std::chrono::steady_clock::time_point start_;
  LineReader reader_;
  std::shared_ptr<RequestBatch> batch_;
  std::vector<uint64_t> file_bytes_;  // Size of each file at the start.
  size_t file_index_ = 0;             // The file being read.
  uint64_t total_bytes_ = 0;
  uint64_t bytes_before_file_ = 0;  // Bytes of the files already finished.
  uint64_t rows_ = 0;
  uint64_t batches_ = 0;
  int64_t skipped_ = 0;
  // Rows emitted and malformed rows skipped before the current file.
  uint64_t rows_before_file_ = 0;
  int64_t skipped_before_file_ = 0;
  // Files without a row: zero bytes, only a header, only blank lines, only
  // malformed rows.
  int empty_files_ = 0, header_only_files_ = 0, blank_files_ = 0, malformed_only_files_ = 0;
};

}  // namespace ingest
}  // namespace resact
