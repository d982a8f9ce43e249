// IngestRun: see ingest_loop.h.
#include "stages/ingest/ingest_loop.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "graph/fault.h"
#include "graph/status.h"

namespace resact {
namespace ingest {

IngestRun::IngestRun(const StageContext& ctx, Emitter& out, const std::vector<std::string>& files,
                     int batch_rows, int64_t max_bad_rows, RequestColumns columns)
    : ctx_(ctx),
      out_(out),
      files_(files),
      batch_rows_(std::max(batch_rows, 1)),
      max_bad_rows_(max_bad_rows),
      columns_(columns),
      start_(std::chrono::steady_clock::now()) {
  file_bytes_.reserve(files_.size());
  for (const std::string& f : files_) {
    std::error_code ec;
    uintmax_t n = std::filesystem::file_size(f, ec);
    file_bytes_.push_back(ec ? 0 : static_cast<uint64_t>(n));
    total_bytes_ += file_bytes_.back();
  }
  ctx_.progress().SetTotal(static_cast<double>(total_bytes_), "bytes");
  ctx_.progress().SetDone(0);
}

void IngestRun::NewBatch() {
  batch_ = std::make_shared<RequestBatch>();
  // Reserve for a full batch, but not more than the rest of the file can
  // hold (a row takes at least 4 bytes), nor more than 1M rows up front.
  size_t n = std::min<size_t>(static_cast<size_t>(batch_rows_), size_t{1} << 20);
  if (file_index_ < file_bytes_.size() && file_bytes_[file_index_] > 0) {
    const uint64_t left = file_bytes_[file_index_] - std::min<uint64_t>(file_bytes_[file_index_],
                                                                        reader_.bytes_read());
    n = std::min<size_t>(n, left / 4 + 16);
  }
  batch_->reserve(n);
  if (columns_.feedback) batch_->feedback.reserve(n);
  if (columns_.session_id) batch_->session_id.reserve(n);
  if (columns_.behaviour_logprob) batch_->behaviour_logprob.reserve(n);
  batch_->num_extra = columns_.num_extra;
  if (columns_.num_extra > 0) batch_->extra.reserve(n * columns_.num_extra);
  batch_->source = reader_.path();
}

absl::Status IngestRun::OpenFile(size_t i) {
  if (ctx_.cancelled()) return absl::CancelledError("the run was cancelled");
  file_index_ = i;
  RETURN_IF_ERROR(reader_.Open(files_.at(i)));
  VLOG(1) << "[" << ctx_.stage_name() << "] reading " << files_[i];
  NewBatch();
  return absl::OkStatus();
}

absl::Status IngestRun::Flush() {
  const size_t n = batch_->size();
  ctx_.progress().SetDone(static_cast<double>(bytes_before_file_ + reader_.bytes_read()));
  if (n == 0) return absl::OkStatus();
  std::shared_ptr<const RequestBatch> full = std::move(batch_);
  NewBatch();
  VLOG(1) << "[" << ctx_.stage_name() << "] batch of " << n << " rows from " << full->source;
  RETURN_IF_ERROR(out_.Emit(0, PayloadType::kRequests, std::move(full)));
  rows_ += n;
  ++batches_;
  FaultPoint("ingest.batch");
  ctx_.progress().AddRows(n);
  if (ctx_.cancelled()) return absl::CancelledError("the run was cancelled");
  return absl::OkStatus();
}

absl::Status IngestRun::Malformed(const absl::Status& row_error) {
  if (max_bad_rows_ <= 0) {
    return absl::Status(row_error.code(),
                        absl::StrCat(row_error.message(),
                                     " (max_bad_rows is 0; set it to skip malformed rows)"));
  }
  if (skipped_ >= max_bad_rows_) {
    return absl::Status(row_error.code(),
                        absl::StrCat("more than max_bad_rows (", max_bad_rows_,
                                     ") malformed rows; the last: ", row_error.message()));
  }
  ++skipped_;
  constexpr int64_t kLogged = 10;
  if (skipped_ <= kLogged) {
    LOG(WARNING) << "[" << ctx_.stage_name() << "] skipping a malformed row: "
                 << row_error.message();
    if (skipped_ == kLogged) {
      LOG(WARNING) << "[" << ctx_.stage_name()
                   << "] further malformed rows are skipped without a message";
    }
  }
  return absl::OkStatus();
}

absl::Status IngestRun::FinishFile(bool had_header) {
  RETURN_IF_ERROR(reader_.status());
  RETURN_IF_ERROR(Flush());
  if (reader_.line_number() == 0) {
    LOG(WARNING) << "[" << ctx_.stage_name() << "] " << reader_.path() << " is empty";
  }
  if (reader_.last_line_unterminated()) {
    LOG(WARNING) << "[" << ctx_.stage_name() << "] " << reader_.path() << ":"
                 << reader_.line_number()
                 << ": the last line has no newline; was the file cut while being written? "
                    "(the line was read as it is)";
  }
  if (rows_ == rows_before_file_) {
    if (reader_.bytes_read() == 0) {
      ++empty_files_;
    } else if (skipped_ > skipped_before_file_) {
      ++malformed_only_files_;
    } else if (had_header) {
      ++header_only_files_;
    } else {
      ++blank_files_;
    }
  }
  rows_before_file_ = rows_;
  skipped_before_file_ = skipped_;
  bytes_before_file_ += reader_.bytes_read();
  reader_.Close();
  ctx_.progress().SetDone(static_cast<double>(bytes_before_file_));
  return absl::OkStatus();
}

absl::Status IngestRun::CheckNotEmpty(const std::string& path, bool allow_empty) const {
  if (rows_ > 0) return absl::OkStatus();
  std::vector<std::string> found;
  const bool one = files_.size() == 1;
  auto add = [&found, one](int n, absl::string_view what) {
    if (n > 0) found.push_back(one ? std::string(what) : absl::StrCat(n, " ", what));
  };
  add(empty_files_, "empty (0 bytes)");
  add(header_only_files_, "header only");
  add(blank_files_, "blank lines only");
  add(malformed_only_files_, "malformed rows only");
  std::string what;
  if (one) {
    what = absl::StrCat("1 file, ", found.empty() ? std::string("no rows") : found[0]);
  } else {
    what = absl::StrCat(files_.size(), " files: ", absl::StrJoin(found, ", "));
  }
  if (skipped_ > 0) absl::StrAppend(&what, "; ", skipped_, " malformed rows skipped");
  const std::string message = absl::StrCat("no data rows in '", path, "' (", what, ")");
  if (allow_empty) {
    LOG(WARNING) << "[" << ctx_.stage_name() << "] " << message
                 << "; allow_empty is true: emitting nothing";
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat(message, "; set allow_empty: true to accept an empty input"));
}

void IngestRun::LogSummary(absl::string_view stage_type) const {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string line = absl::StrFormat(
      "[%s] %s: read %d rows in %d batches from %d files (%.1f MB) in %.2f s (%s rows/s)",
      ctx_.stage_name(), std::string(stage_type), rows_, batches_, files_.size(),
      static_cast<double>(bytes_before_file_) / 1e6, secs,
      HumanCount(secs > 0 ? static_cast<double>(rows_) / secs : 0.0));
  if (max_bad_rows_ > 0) {
    absl::StrAppend(&line, "; skipped ", skipped_, " malformed rows (max_bad_rows ",
                    max_bad_rows_, ")");
  }
  LOG(INFO) << line;
}

}  // namespace ingest
}  // namespace resact
