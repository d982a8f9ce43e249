// MovieLensReader: MovieLens ratings files as RequestBatch packets, the
// rating as feedback. See movielens_reader.h.
//
// Example:
//   stage {
//     name: "ingest"
//     type: "MovieLensReader"
//     output_stream: "requests"
//     options {
//       [type.googleapis.com/resact.MovieLensReaderOptions] {
//         path: "data/ml-1m/ratings.dat"  # or a folder, or "data/ml-*/ratings.*"
//         format: AUTO
//       }
//     }
//   }
#include "stages/ingest/movielens_reader.h"

#include "absl/strings/match.h"
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
using Format = MovieLensReaderOptions::Format;

// Where the four columns are in one file.
struct Layout {
  Format format = MovieLensReaderOptions::AUTO;
  std::string delimiter;
  size_t num_fields = 4;
  size_t user = 0, item = 1, rating = 2, ts = 3;
  // "column 'UserID'" etc., for messages.
  std::string user_label, item_label, rating_label, ts_label;
};

std::string Label(absl::string_view name) { return absl::StrCat("column '", name, "'"); }

Layout FixedLayout(Format format) {
  Layout l;
  l.format = format;
  if (format == MovieLensReaderOptions::ML1M_DAT) {
    l.delimiter = "::";
    l.user_label = Label("UserID");
    l.item_label = Label("MovieID");
    l.rating_label = Label("Rating");
    l.ts_label = Label("Timestamp");
  } else {  // ML100K_DATA; its README names the fields so.
    l.delimiter = "\t";
    l.user_label = Label("user id");
    l.item_label = Label("item id");
    l.rating_label = Label("rating");
    l.ts_label = Label("timestamp");
  }
  return l;
}

// The ratings.csv layout from its header line: columns found by name.
absl::StatusOr<Layout> CsvLayout(const std::string& file, int64_t line_number,
                                 absl::string_view header) {
  Layout l;
  l.format = MovieLensReaderOptions::ML_LATEST_CSV;
  l.delimiter = ",";
  FieldSplitter split(",");
  l.num_fields = split.Split(header);
  struct Want {
    const char* name;
    size_t* index;
    std::string* label;
  };
  const Want wants[] = {{"userId", &l.user, &l.user_label},
                        {"movieId", &l.item, &l.item_label},
                        {"rating", &l.rating, &l.rating_label},
                        {"timestamp", &l.ts, &l.ts_label}};
  for (const Want& w : wants) {
    size_t i = 0;
    while (i < split.size() && split[i] != w.name) ++i;
    if (i == split.size()) {
      return ingest::RowError(
          file, line_number,
          absl::StrCat("the header has no column '", w.name,
                       "' (expected 'userId,movieId,rating,timestamp'); header: ",
                       ingest::Quote(header)));
    }
    *w.index = i;
    *w.label = Label(w.name);
  }
  return l;
}

// AUTO: the format from a file's first non-empty line.
absl::StatusOr<Format> DetectFormat(const std::string& file, int64_t line_number,
                                    absl::string_view line) {
  if (absl::StartsWith(line, "userId,")) return MovieLensReaderOptions::ML_LATEST_CSV;
  if (absl::StrContains(line, "::")) return MovieLensReaderOptions::ML1M_DAT;
  if (absl::StrContains(line, "\t")) return MovieLensReaderOptions::ML100K_DATA;
  return ingest::RowError(
      file, line_number,
      absl::StrCat("cannot detect the MovieLens format from the first line ", ingest::Quote(line),
                   ": expected a 'userId,...' header (ratings.csv), '::'-separated fields "
                   "(ratings.dat) or tab-separated fields (u.data); set `format`"));
}

// Parses one data line and appends it to `b`, or returns why it is malformed
// (then `b` is unchanged).
absl::Status ParseRow(const Layout& l, FieldSplitter& split, absl::string_view line,
                      const std::string& file, int64_t ln, const ingest::TimestampWindow& window,
                      RequestBatch& b) {
  const size_t n = split.Split(line);
  if (n != l.num_fields) {
    return ingest::RowError(file, ln,
                            absl::StrCat("expected ", l.num_fields, " fields separated by ",
                                         ingest::DescribeDelimiter(l.delimiter), ", got ", n));
  }
  const absl::string_view fu = split[l.user], fi = split[l.item], fr = split[l.rating],
                          ft = split[l.ts];
  int64_t user, item, ts_ms;
  float rating;
  RETURN_IF_ERROR(ingest::ParseIntField(fu, file, ln, l.user_label, &user));
  RETURN_IF_ERROR(ingest::ParseIntField(fi, file, ln, l.item_label, &item));
  RETURN_IF_ERROR(ingest::ParseFloatField(fr, file, ln, l.rating_label, &rating));
  static const ingest::TimestampExpected kExpected{"an integer",
                                                   "a timestamp in seconds within range"};
  RETURN_IF_ERROR(ingest::ParseTimestampField(ft, ingest::TimeUnit::kSeconds,
                                              /*allow_fraction=*/false, kExpected, window, file,
                                              ln, l.ts_label, &ts_ms));
  b.user.push_back(user);
  b.item.push_back(item);
  b.ts_ms.push_back(ts_ms);
  b.feedback.push_back(rating);
  return absl::OkStatus();
}

}  // namespace

MovieLensReader::MovieLensReader()
    : RequestLogReader({"MovieLensReader", PayloadType::kRequests,
                        "the MovieLens ratings file, its folder, or a glob pattern",
                        {"ratings.csv", "ratings.dat", "u.data"}}) {}

absl::Status MovieLensReader::InitReader() {
  RETURN_IF_ERROR(InitRequestOptions());
  window_.hint_above = window_.hint_below =
      "MovieLens timestamps are Unix seconds from 1995 on: is this a MovieLens ratings file?";
  return absl::OkStatus();
}

ingest::RequestColumns MovieLensReader::Columns() const {
  ingest::RequestColumns columns;
  columns.feedback = true;
  return columns;
}

absl::Status MovieLensReader::ReadFile(IngestRun& run, size_t file_index) {
  RETURN_IF_ERROR(run.OpenFile(file_index));
  LineReader& reader = run.reader();
  const std::string& file = run.file();
  absl::string_view line;
  // The first non-empty line decides the format and may be the header.
  if (!reader.NextNonEmpty(&line)) return run.FinishFile();
  Format format = options_.format();
  if (format == MovieLensReaderOptions::AUTO) {
    ASSIGN_OR_RETURN(format, DetectFormat(file, reader.line_number(), line));
  }
  Layout layout;
  bool first_is_data = true;
  if (format == MovieLensReaderOptions::ML_LATEST_CSV) {
    ASSIGN_OR_RETURN(layout, CsvLayout(file, reader.line_number(), line));
    first_is_data = false;
  } else {
    layout = FixedLayout(format);
  }
  VLOG(1) << "[" << ctx_->stage_name() << "] " << file << ": format "
          << MovieLensReaderOptions::Format_Name(format);
  FieldSplitter split(layout.delimiter);
  auto row = [&](absl::string_view l) -> absl::Status {
    absl::Status s =
        ParseRow(layout, split, l, file, reader.line_number(), window_, run.batch());
    if (!s.ok()) return run.Malformed(s);
    return run.RowAdded();
  };
  if (first_is_data) RETURN_IF_ERROR(row(line));
  while (reader.Next(&line)) {
    if (line.empty()) continue;  // Entirely empty lines are skipped silently.
    RETURN_IF_ERROR(row(line));
  }
  return run.FinishFile(/*had_header=*/!first_is_data);
}

RESACT_REGISTER_STAGE(MovieLensReader);

}  // namespace resact
