// DelimitedLogReader: a delimiter-separated request log as RequestBatch
// packets. See delimited_log_reader.h.
//
// Example:
//   stage {
//     name: "ingest"
//     type: "DelimitedLogReader"
//     output_stream: "requests"
//     options {
//       [type.googleapis.com/resact.DelimitedLogReaderOptions] {
//         path: "logs/"            # its *.csv, *.tsv, *.log, *.dat files, by name
//         delimiter: "\t"
//         has_header: false
//         user_column: "0" item_column: "2" timestamp_column: "1"
//         session_column: "3"
//       }
//     }
//   }
#include "stages/ingest/delimited_log_reader.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "graph/registry.h"
#include "stages/ingest/line_reader.h"

namespace resact {
namespace {

using ingest::FieldSplitter;
using ingest::IngestRun;
using ingest::LineReader;

// Positions of the fixed columns in DelimitedLogReader::columns_.
constexpr size_t kUser = 0, kItem = 1, kTs = 2;

// Where each mapped column is in one file.
struct FileLayout {
  // Fields every row must have; 0 while unknown (no header, no row yet).
  size_t num_fields = 0;
  // One past the highest mapped index.
  size_t min_fields = 0;
  // Per entry of columns_: field index and "column 'name'" / "column 3".
  std::vector<size_t> index;
  std::vector<std::string> label;
};

ingest::TimeUnit ToTimeUnit(DelimitedLogReaderOptions::TimestampUnit u) {
  switch (u) {
    case DelimitedLogReaderOptions::MILLISECONDS: return ingest::TimeUnit::kMilliseconds;
    case DelimitedLogReaderOptions::MICROSECONDS: return ingest::TimeUnit::kMicroseconds;
    case DelimitedLogReaderOptions::SECONDS: break;
  }
  return ingest::TimeUnit::kSeconds;
}

// What the messages say a timestamp in unit `u` was expected to be.
ingest::TimestampExpected TimestampTexts(ingest::TimeUnit u) {
  const char* number = "a number";
  switch (u) {
    case ingest::TimeUnit::kSeconds: number = "a number (seconds)"; break;
    case ingest::TimeUnit::kMilliseconds: number = "a number (milliseconds)"; break;
    case ingest::TimeUnit::kMicroseconds: number = "a number (microseconds)"; break;
  }
  return {number, "a timestamp within the int64 millisecond range"};
}

// What a row parser needs besides the line.
struct RowContext {
  const FileLayout* layout;
  FieldSplitter* split;
  ingest::TimeUnit unit;
  ingest::TimestampExpected ts_expected;
  const std::string* file;
  const ingest::TimestampWindow* window;
  // Positions in columns_ of the optional columns; -1 when absent.
  int feedback = -1, session = -1, logprob = -1;
  size_t extra_begin = 0, num_extra = 0;
  std::vector<float>* extra_scratch;
};

// A finite-float column: OK or the error for it.
inline absl::Status ParseFloatColumn(const RowContext& c, int64_t ln, size_t col, float* out) {
  return ingest::ParseFloatField((*c.split)[c.layout->index[col]], *c.file, ln,
                                 c.layout->label[col], out);
}

inline absl::Status ParseIntColumn(const RowContext& c, int64_t ln, size_t col, int64_t* out) {
  return ingest::ParseIntField((*c.split)[c.layout->index[col]], *c.file, ln,
                               c.layout->label[col], out);
}

// Parses the already split fields of one row and appends it to `b`, or
// returns why it is malformed (then `b` is unchanged).
absl::Status ParseFields(const RowContext& c, int64_t ln, RequestBatch& b) {
  int64_t user, item, ts_ms;
  RETURN_IF_ERROR(ParseIntColumn(c, ln, kUser, &user));
  RETURN_IF_ERROR(ParseIntColumn(c, ln, kItem, &item));
  RETURN_IF_ERROR(ingest::ParseTimestampField((*c.split)[c.layout->index[kTs]], c.unit,
                                              /*allow_fraction=*/true, c.ts_expected, *c.window,
                                              *c.file, ln, c.layout->label[kTs], &ts_ms));
  float feedback = 0, logprob = 0;
  int64_t session = 0;
  if (c.feedback >= 0) RETURN_IF_ERROR(ParseFloatColumn(c, ln, c.feedback, &feedback));
  if (c.session >= 0) RETURN_IF_ERROR(ParseIntColumn(c, ln, c.session, &session));
  if (c.logprob >= 0) RETURN_IF_ERROR(ParseFloatColumn(c, ln, c.logprob, &logprob));
  std::vector<float>& extra = *c.extra_scratch;
  for (size_t k = 0; k < c.num_extra; ++k) {
    RETURN_IF_ERROR(ParseFloatColumn(c, ln, c.extra_begin + k, &extra[k]));
  }
  b.user.push_back(user);
  b.item.push_back(item);
  b.ts_ms.push_back(ts_ms);
  if (c.feedback >= 0) b.feedback.push_back(feedback);
  if (c.session >= 0) b.session_id.push_back(session);
  if (c.logprob >= 0) b.behaviour_logprob.push_back(logprob);
  if (c.num_extra > 0) b.extra.insert(b.extra.end(), extra.begin(), extra.end());
  return absl::OkStatus();
}

}  // namespace

DelimitedLogReader::DelimitedLogReader()
    : RequestLogReader({"DelimitedLogReader", PayloadType::kRequests,
                        "the log file, a folder, or a glob pattern", {}}) {}

absl::Status DelimitedLogReader::InitReader() {
  const DelimitedLogReaderOptions& o = options_;
  RETURN_IF_ERROR(ingest::CheckDelimiter(o.delimiter()));
  RETURN_IF_ERROR(InitRequestOptions());
  switch (o.timestamp_unit()) {
    case DelimitedLogReaderOptions::MILLISECONDS:
      window_.hint_above = "are these microseconds read as milliseconds? (see timestamp_unit)";
      window_.hint_below = "are these seconds read as milliseconds? (see timestamp_unit)";
      break;
    case DelimitedLogReaderOptions::MICROSECONDS:
      window_.hint_above = "are these nanoseconds read as microseconds? (see timestamp_unit)";
      window_.hint_below =
          "are these seconds or milliseconds read as microseconds? (see timestamp_unit)";
      break;
    case DelimitedLogReaderOptions::SECONDS:
      window_.hint_above = "are these milliseconds read as seconds? (see timestamp_unit)";
      window_.hint_below =
          "is timestamp_column the request time in Unix seconds? (see timestamp_unit; "
          "min_timestamp: 0 accepts times counted from the log's start)";
      break;
  }
  folder_patterns_ = ingest::FolderPatternsOrDefault({o.folder_pattern().begin(), o.folder_pattern().end()});
  columns_.clear();
  auto add = [&](const std::string& option, const std::string& spec) -> absl::Status {
    ASSIGN_OR_RETURN(ingest::ColumnOption c, ingest::ParseColumnOption(option, spec, o.has_header()));
    columns_.push_back(std::move(c));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(add("user_column", o.user_column()));
  RETURN_IF_ERROR(add("item_column", o.item_column()));
  RETURN_IF_ERROR(add("timestamp_column", o.timestamp_column()));
  has_feedback_ = !o.feedback_column().empty();
  has_session_ = !o.session_column().empty();
  has_logprob_ = !o.behaviour_logprob_column().empty();
  if (has_feedback_) RETURN_IF_ERROR(add("feedback_column", o.feedback_column()));
  if (has_session_) RETURN_IF_ERROR(add("session_column", o.session_column()));
  if (has_logprob_) RETURN_IF_ERROR(add("behaviour_logprob_column", o.behaviour_logprob_column()));
  for (int i = 0; i < o.extra_columns_size(); ++i) {
    RETURN_IF_ERROR(add(absl::StrCat("extra_columns[", i, "]"), o.extra_columns(i)));
  }
  return absl::OkStatus();
}

ingest::RequestColumns DelimitedLogReader::Columns() const {
  ingest::RequestColumns columns;
  columns.feedback = has_feedback_;
  columns.session_id = has_session_;
  columns.behaviour_logprob = has_logprob_;
  columns.num_extra = options_.extra_columns_size();
  return columns;
}

absl::Status DelimitedLogReader::ReadFile(IngestRun& run, size_t file_index) {
  RETURN_IF_ERROR(run.OpenFile(file_index));
  LineReader& reader = run.reader();
  const std::string& file = run.file();
  FieldSplitter split(options_.delimiter());
  absl::string_view line;

  FileLayout layout;
  layout.index.resize(columns_.size());
  layout.label.resize(columns_.size());
  if (options_.has_header()) {
    if (!reader.NextNonEmpty(&line)) return run.FinishFile();
    const size_t n = split.Split(line);
    for (size_t c = 0; c < columns_.size(); ++c) {
      const ColumnOption& col = columns_[c];
      size_t i = 0;
      while (i < n && ingest::HeaderName(split[i]) != col.spec) ++i;
      if (i == n) {
        if (col.index < 0) {
          return ingest::RowError(
              file, reader.line_number(),
              absl::StrCat("the header has no column '", col.spec, "' (", col.option,
                           "); header: ", ingest::Quote(line)));
        }
        if (static_cast<size_t>(col.index) >= n) {
          return ingest::RowError(
              file, reader.line_number(),
              absl::StrCat(col.option, ": column index ", col.index, " is beyond the header's ",
                           n, " columns; header: ", ingest::Quote(line)));
        }
        i = static_cast<size_t>(col.index);
      }
      layout.index[c] = i;
      layout.label[c] = absl::StrCat("column '", ingest::HeaderName(split[i]), "'");
    }
    layout.num_fields = n;
  } else {
    for (size_t c = 0; c < columns_.size(); ++c) {
      layout.index[c] = static_cast<size_t>(columns_[c].index);
      layout.label[c] = absl::StrCat("column ", columns_[c].index);
    }
  }
  for (size_t i : layout.index) layout.min_fields = std::max(layout.min_fields, i + 1);

  std::vector<float> extra_scratch(static_cast<size_t>(options_.extra_columns_size()));
  RowContext rc;
  rc.layout = &layout;
  rc.split = &split;
  rc.unit = ToTimeUnit(options_.timestamp_unit());
  rc.ts_expected = TimestampTexts(rc.unit);
  rc.file = &file;
  rc.window = &window_;
  int pos = 3;
  if (has_feedback_) rc.feedback = pos++;
  if (has_session_) rc.session = pos++;
  if (has_logprob_) rc.logprob = pos++;
  rc.extra_begin = static_cast<size_t>(pos);
  rc.num_extra = extra_scratch.size();
  rc.extra_scratch = &extra_scratch;
  const std::string delimiter_text = ingest::DescribeDelimiter(options_.delimiter());

  while (reader.Next(&line)) {
    if (line.empty()) continue;  // Entirely empty lines are skipped silently.
    const size_t n = split.Split(line);
    absl::Status s;
    if (n == layout.num_fields) {
      s = ParseFields(rc, reader.line_number(), run.batch());
    } else if (layout.num_fields == 0 && n >= layout.min_fields) {
      // No header: the first row fixes the number of fields of the file.
      layout.num_fields = n;
      s = ParseFields(rc, reader.line_number(), run.batch());
    } else if (layout.num_fields == 0) {
      s = ingest::RowError(file, reader.line_number(),
                           absl::StrCat("expected at least ", layout.min_fields,
                                        " fields separated by ", delimiter_text, ", got ", n));
    } else {
      s = ingest::RowError(
          file, reader.line_number(),
          absl::StrCat("expected ", layout.num_fields, " fields separated by ", delimiter_text,
                       options_.has_header() ? " (as the header has)" : " (as the first row has)",
                       ", got ", n));
    }
    if (!s.ok()) {
      RETURN_IF_ERROR(run.Malformed(s));
      continue;
    }
    RETURN_IF_ERROR(run.RowAdded());
  }
  return run.FinishFile(/*had_header=*/options_.has_header());
}

RESACT_REGISTER_STAGE(DelimitedLogReader);

}  // namespace resact
