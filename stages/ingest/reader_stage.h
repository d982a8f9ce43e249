// The base of the reader stages (MovieLensReader, DelimitedLogReader,
// UserFeatureReader): what they share of the Stage interface.
//   - ReaderStage: Init() requires `path`; Contract() is one output of the
//     reader's payload kind; Open() resolves `path` to the files to read
//     (input_files.h), records them as the run's source and logs them.
//   - RequestLogReader: a ReaderStage that reads a request log: the
//     batch_rows, max_bad_rows and timestamp-window options, and a
//     Generate() that reads every file through one IngestRun
//     (ingest_loop.h).
// A reader derives from one of them and gives its options' own checks
// (InitReader) and, for a request log, how one file is read (ReadFile).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/payload.h"
#include "graph/stage.h"
#include "graph/status.h"
#include "stages/ingest/fields.h"
#include "stages/ingest/ingest_loop.h"
#include "stages/ingest/input_files.h"

namespace resact {
namespace ingest {

// What a reader stage is, for ReaderStage.
struct ReaderTraits {
  const char* type;         // The stage type, e.g. "MovieLensReader" (for logs).
  PayloadType output;       // The kind of its one output.
  const char* path_needed;  // After "path: required; " when `path` is empty.
  // For a folder as `path`: the file names of which the first present is
  // read (see ResolveInputFiles); empty: the files matching the folder
  // patterns the reader sets in InitReader().
  std::vector<std::string> folder_names;
};

// `Options` has a string `path`.
template <class Options>
class ReaderStage : public StageWithOptions<Options> {
 public:
  StreamContract Contract() const final {
    StreamContract c;
    c.outputs = {traits_.output};
    return c;
  }

  // Resolves `path` to the files to read (NotFound when nothing matches,
  // InvalidArgument when a file is reached twice), records and logs them,
  // then OpenFiles().
  absl::Status Open(const StageContext& ctx) final {
    ctx_ = &ctx;
    ASSIGN_OR_RETURN(files_, ResolveAndLogInputFiles(ctx, traits_.type, this->options_.path(),
                                                     traits_.folder_names, folder_patterns_));
    return OpenFiles();
  }

 protected:
  explicit ReaderStage(ReaderTraits traits) : traits_(std::move(traits)) {}

  absl::Status Init() final {
    if (this->options_.path().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("path: required; ", traits_.path_needed));
    }
    return InitReader();
  }
  // The reader's own option checks, after `path`'s.
  virtual absl::Status InitReader() = 0;
  // After Open() has resolved files_: the reader's own checks of them.
  virtual absl::Status OpenFiles() { return absl::OkStatus(); }
  // FailedPrecondition unless Open() was called: what Generate() checks first.
  absl::Status CheckOpened() const {
    if (ctx_ == nullptr) return absl::FailedPreconditionError("Generate() called before Open()");
    return absl::OkStatus();
  }

  const ReaderTraits traits_;
  // The fnmatch(3) patterns of a folder's files to read (see
  // ResolveInputFiles); set by InitReader() when folder_names is empty.
  std::vector<std::string> folder_patterns_;
  const StageContext* ctx_ = nullptr;  // Set by Open().
  std::vector<std::string> files_;     // Set by Open().
};

// `Options` also has batch_rows, max_bad_rows, min_timestamp, max_timestamp
// and allow_empty.
template <class Options>
class RequestLogReader : public ReaderStage<Options> {
 public:
  // Reads every file in turn (ReadFile), emitting RequestBatch packets on
  // output 0; then FailedPrecondition when no row was read, unless
  // allow_empty.
  absl::Status Generate(Emitter& out) final {
    RETURN_IF_ERROR(this->CheckOpened());
    const Options& o = this->options_;
    IngestRun run(*this->ctx_, out, this->files_, o.batch_rows(), o.max_bad_rows(), Columns());
    for (size_t i = 0; i < this->files_.size(); ++i) RETURN_IF_ERROR(ReadFile(run, i));
    rows_read_ = run.rows();
    skipped_rows_ = run.skipped();
    run.LogSummary(this->traits_.type);
    return run.CheckNotEmpty(o.path(), o.allow_empty());
  }

  // After Generate(): rows emitted and malformed rows skipped.
  uint64_t rows_read() const { return rows_read_; }
  int64_t skipped_rows() const { return skipped_rows_; }

 protected:
  using ReaderStage<Options>::ReaderStage;

  // Checks batch_rows and max_bad_rows and sets window_ from min_timestamp
  // and max_timestamp (without hints): for the reader's InitReader().
  absl::Status InitRequestOptions() {
    const Options& o = this->options_;
    if (o.batch_rows() < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch_rows: must be at least 1, got ", o.batch_rows()));
    }
    if (o.max_bad_rows() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_bad_rows: must be 0 or more, got ", o.max_bad_rows()));
    }
    ASSIGN_OR_RETURN(window_, TimestampWindow::Make(o.min_timestamp(), o.max_timestamp()));
    return absl::OkStatus();
  }
  // The optional RequestBatch columns the reader fills.
  virtual RequestColumns Columns() const = 0;
  // Reads file `file_index` of files_: run.OpenFile(file_index), its rows,
  // run.FinishFile().
  virtual absl::Status ReadFile(IngestRun& run, size_t file_index) = 0;

  TimestampWindow window_;  // Set by InitRequestOptions().

 private:
  uint64_t rows_read_ = 0;
  int64_t skipped_rows_ = 0;
};

}  // namespace ingest
}  // namespace resact
