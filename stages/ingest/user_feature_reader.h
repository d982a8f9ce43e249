// UserFeatureReader: a source stage that reads static per-user features (a
// platform's user embedding, profile attributes, ...) from a delimited text
// file (CSV, TSV, ...), one user per line: an integer user id column and
// numeric feature columns, mapped by header name or 0-based index (by
// default the first column is the user and every other column a feature).
// It emits ONE UserFeatureTable, sorted by user id, on its single output of
// kind user_features, for StateFeatures' `user_features` input. Bad input is
// an error naming file:line, the column and what was expected: a feature
// that is not a finite number, a user id that is not an integer, a wrong
// number of fields, a user that appears twice, a file without rows. Nothing
// is skipped except entirely empty lines. A folder as `path` means its one
// regular, non-hidden file matching `folder_pattern` (default *.csv, *.tsv,
// *.log, *.dat; README.txt and the like are skipped and logged). A last
// line without a newline is read and logged as a WARNING.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "stages/ingest/fields.h"
#include "stages/ingest/ingest_options.pb.h"
#include "stages/ingest/reader_stage.h"

namespace resact {

// Init, Contract and Open: see ingest::ReaderStage; Open() also requires
// `path` to name exactly one file (InvalidArgument otherwise).
class UserFeatureReader : public ingest::ReaderStage<UserFeatureReaderOptions> {
 public:
  UserFeatureReader();
  // Reads the whole file and emits the table on output 0.
  absl::Status Generate(Emitter& out) override;

 protected:
  absl::Status InitReader() override;
  absl::Status OpenFiles() override;

 private:
  using ColumnOption = ingest::ColumnOption;

  // Reads `file_` into a table sorted by user id: what Generate() emits.
  absl::StatusOr<std::shared_ptr<UserFeatureTable>> ReadTable() const;

  std::string file_;
  ColumnOption user_;
  std::vector<ColumnOption> features_;  // Empty: every column but the user's.
};

}  // namespace resact
