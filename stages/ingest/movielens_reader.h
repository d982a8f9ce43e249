// MovieLensReader: a source stage that reads MovieLens ratings as a request
// log. Every rating becomes one request (user = UserID, item = MovieID,
// ts_ms = Timestamp × 1000, feedback = Rating), emitted in file order as
// RequestBatch packets of `batch_rows` rows. It reads ML-1M/ML-10M
// ratings.dat ("::"-separated), ML-100K u.data (tab-separated) and ml-latest
// ratings.csv (with a header), detecting the format per file by default.
// `path` may be a file, a folder (its ratings.csv, ratings.dat or u.data) or
// a glob pattern. Malformed rows are errors naming file:line and the column,
// unless `max_bad_rows` allows skipping them; a timestamp outside
// [min_timestamp, max_timestamp] (default 1995..2100) is malformed.
//
// Which files: in a folder only the first of ratings.csv, ratings.dat, u.data
// is read (README, movies.dat, users.dat, tags.csv, ... are skipped and
// logged); a glob pattern reads every match. The same file listed twice is
// an error. An input without any data row is an error unless `allow_empty`.
// A last line without a newline is read and logged as a WARNING.
//
// Example:
//   stage {
//     name: "ingest"
//     type: "MovieLensReader"
//     output_stream: "requests"
//     options {
//       [type.googleapis.com/resact.MovieLensReaderOptions] {
//         path: "../shared/data/ml-latest-small"
//         batch_rows: 65536
//       }
//     }
//   }
#pragma once

#include "stages/ingest/ingest_options.pb.h"
#include "stages/ingest/reader_stage.h"

namespace resact {

// Init, Contract, Open, Generate, rows_read and skipped_rows: see
// ingest::RequestLogReader.
class MovieLensReader : public ingest::RequestLogReader<MovieLensReaderOptions> {
 public:
  MovieLensReader();

 protected:
  absl::Status InitReader() override;
  ingest::RequestColumns Columns() const override;
  absl::Status ReadFile(ingest::IngestRun& run, size_t file_index) override;
};

}  // namespace resact
