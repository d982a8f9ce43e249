// DelimitedLogReader: a source stage that reads a generic request log, one
// request per line with delimiter-separated fields (CSV, TSV, ...), from one
// file, a folder of files or a glob pattern. Columns are mapped by header
// name or 0-based index: user and item ids (integers), the timestamp (in
// seconds, milliseconds or microseconds, stored as milliseconds), and
// optionally feedback, a log-provided session id, the behaviour policy's
// log-probability and extra numeric features. Rows are emitted in file order
// as RequestBatch packets of `batch_rows` rows. Malformed rows are errors
// naming file:line and the column, unless `max_bad_rows` allows skipping; a
// timestamp outside [min_timestamp, max_timestamp] (default 1995..2100) is
// malformed, as a wrong timestamp_unit makes it.
//
// Which files: `path` is a file, a glob pattern (every match read), or a
// folder, of which only the regular files matching `folder_pattern`
// (default *.csv, *.tsv, *.log, *.dat) and not hidden are read, by name; the
// others (README.txt, notes.md, .DS_Store, ...) are skipped and logged. The
// same file listed twice is an error. An input without any data row is an
// error unless `allow_empty`. A last line without a newline is read and
// logged as a WARNING (a file cut while being written).
//
// Example:
//   stage {
//     name: "ingest"
//     type: "DelimitedLogReader"
//     output_stream: "requests"
//     options {
//       [type.googleapis.com/resact.DelimitedLogReaderOptions] {
//         path: "logs/day-*.csv"
//         user_column: "user_id" item_column: "video_id" timestamp_column: "time_ms"
//         timestamp_unit: MILLISECONDS
//         feedback_column: "watch_ratio"
//         extra_columns: "duration_s"
//       }
//     }
//   }
#pragma once

#include <string>
#include <vector>

#include "stages/ingest/fields.h"
#include "stages/ingest/ingest_options.pb.h"
#include "stages/ingest/reader_stage.h"

namespace resact {

// Init, Contract, Open, Generate, rows_read and skipped_rows: see
// ingest::RequestLogReader.
class DelimitedLogReader : public ingest::RequestLogReader<DelimitedLogReaderOptions> {
 public:
  DelimitedLogReader();

 protected:
  absl::Status InitReader() override;
  ingest::RequestColumns Columns() const override;
  absl::Status ReadFile(ingest::IngestRun& run, size_t file_index) override;

 private:
  using ColumnOption = ingest::ColumnOption;

  // user, item, timestamp, then the optional ones present, then extras.
  std::vector<ColumnOption> columns_;
  bool has_feedback_ = false, has_session_ = false, has_logprob_ = false;
};

}  // namespace resact
