// IngestRun: one Generate() call of a request-log reader (MovieLensReader,
// DelimitedLogReader): its files read in turn through one LineReader, rows
// collected into RequestBatch packets of `batch_rows` rows, progress in
// bytes and rows, cancellation, the malformed-row budget (max_bad_rows), the
// check that some row was read (allow_empty) and the summary log line.
// In namespace resact::ingest.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "graph/payload.h"
#include "graph/stage.h"
#include "stages/ingest/line_reader.h"

namespace resact {
namespace ingest {

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
