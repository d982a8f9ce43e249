// UserFeatureReader: a delimited file of static per-user features as one
// UserFeatureTable. See user_feature_reader.h.
//
// Example:
//   stage {
//     name: "profiles"
//     type: "UserFeatureReader"
//     output_stream: "profiles"
//     options {
//       [type.googleapis.com/resact.UserFeatureReaderOptions] {
//         path: "data/user_features.csv"
//         user_column: "user_id"
//         feature_columns: "emb_0" feature_columns: "emb_1" feature_columns: "age"
//       }
//     }
//   }
//
// Without a header, the user id in column 2 and features in columns 0 and 1:
//   stage {
//     name: "profiles"
//     type: "UserFeatureReader"
//     output_stream: "profiles"
//     options {
//       [type.googleapis.com/resact.UserFeatureReaderOptions] {
//         path: "data/profiles.tsv"
//         delimiter: "\t"
//         has_header: false
//         user_column: "2"
//       }
//     }
//   }
#include "stages/ingest/user_feature_reader.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "graph/registry.h"
#include "stages/ingest/line_reader.h"

namespace resact {
namespace {

using ingest::FieldSplitter;
using ingest::LineReader;

// Rows between cancellation checks and progress updates.
constexpr int64_t kCheckEveryRows = 65536;

// Where the user and feature columns are in the file.
struct Layout {
  size_t num_fields = 0;  // Fields every row must have.
  size_t user = 0;
  std::string user_label;  // "column 'user_id'" or "column 0".
  std::vector<size_t> features;
  std::vector<std::string> feature_labels;
};

// "column 'name'" with a header (when the name is not empty), else
// "column i".
std::string ColumnLabel(const FieldSplitter* header, size_t i) {
  if (header != nullptr) {
    absl::string_view name = ingest::HeaderName((*header)[i]);
    if (!name.empty()) return absl::StrCat("column '", name, "'");
  }
  return absl::StrCat("column ", i);
}

}  // namespace

UserFeatureReader::UserFeatureReader()
    : ReaderStage({"UserFeatureReader", PayloadType::kUserFeatures, "the user feature file", {}}) {}

absl::Status UserFeatureReader::InitReader() {
  const UserFeatureReaderOptions& o = options_;
  RETURN_IF_ERROR(ingest::CheckDelimiter(o.delimiter()));
  folder_patterns_ =
      ingest::FolderPatternsOrDefault({o.folder_pattern().begin(), o.folder_pattern().end()});
  ASSIGN_OR_RETURN(user_, ingest::ParseColumnOption("user_column", o.user_column(), o.has_header()));
  features_.clear();
  for (int i = 0; i < o.feature_columns_size(); ++i) {
    ASSIGN_OR_RETURN(ColumnOption c,
                     ingest::ParseColumnOption(absl::StrCat("feature_columns[", i, "]"),
                                               o.feature_columns(i), o.has_header()));
    if (c.spec == user_.spec) {
      return absl::InvalidArgumentError(
          absl::StrCat(c.option, ": '", c.spec, "' is the user column (user_column)"));
    }
    for (const ColumnOption& prev : features_) {
      if (prev.spec == c.spec) {
        return absl::InvalidArgumentError(
            absl::StrCat(c.option, ": '", c.spec, "' is listed twice (also ", prev.option, ")"));
      }
    }
    features_.push_back(std::move(c));
  }
  return absl::OkStatus();
}

absl::Status UserFeatureReader::OpenFiles() {
  const std::vector<std::string>& files = files_;
  if (files.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "path '", options_.path(), "': names ", files.size(), " files (",
        absl::StrJoin(files.begin(), files.begin() + std::min<size_t>(files.size(), 3), ", "),
        files.size() > 3 ? ", ..." : "", "); UserFeatureReader reads exactly one file"));
  }
  file_ = files[0];
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<UserFeatureTable>> UserFeatureReader::ReadTable() const {
  const std::string& file = file_;
  const bool has_header = options_.has_header();
  LineReader reader;
  RETURN_IF_ERROR(reader.Open(file));
  FieldSplitter split(options_.delimiter());
  const std::string delimiter_text = ingest::DescribeDelimiter(options_.delimiter());
  absl::string_view line;

  // The first non-empty line: the header, or the first row.
  const bool any = reader.NextNonEmpty(&line);
  RETURN_IF_ERROR(reader.status());
  if (!any) {
    return ingest::RowError(
        file, 1,
        has_header ? "the file is empty; expected a header line naming the columns, then one "
                     "row per user"
                   : "the file is empty; expected one row per user");
  }
  const int64_t first_line = reader.line_number();
  const size_t n = split.Split(line);
  const FieldSplitter* header = has_header ? &split : nullptr;
  const std::string first_text = has_header ? "the header" : "the first row";

  // A column option to its field index in this file.
  auto resolve = [&](const ColumnOption& col) -> absl::StatusOr<size_t> {
    if (has_header) {
      for (size_t i = 0; i < n; ++i) {
        if (ingest::HeaderName(split[i]) == col.spec) return i;
      }
      if (col.index < 0) {
        return ingest::RowError(file, first_line,
                                absl::StrCat("the header has no column '", col.spec, "' (",
                                             col.option, "); header: ", ingest::Quote(line)));
      }
    }
    if (static_cast<size_t>(col.index) >= n) {
      return ingest::RowError(
          file, first_line,
          absl::StrCat(col.option, ": column index ", col.index, " is beyond ", first_text, "'s ",
                       n, " fields separated by ", delimiter_text, "; ", first_text, ": ",
                       ingest::Quote(line)));
    }
    return static_cast<size_t>(col.index);
  };

  Layout layout;
  layout.num_fields = n;
  ASSIGN_OR_RETURN(layout.user, resolve(user_));
  layout.user_label = ColumnLabel(header, layout.user);
  if (features_.empty()) {
    for (size_t i = 0; i < n; ++i) {
      if (i != layout.user) layout.features.push_back(i);
    }
    if (layout.features.empty()) {
      return ingest::RowError(
          file, first_line,
          absl::StrCat(first_text, " has only the user column (", layout.user_label,
                       "); expected at least one feature column separated by ", delimiter_text));
    }
  } else {
    for (size_t k = 0; k < features_.size(); ++k) {
      ASSIGN_OR_RETURN(size_t i, resolve(features_[k]));
      if (i == layout.user) {
        return ingest::RowError(file, first_line,
                                absl::StrCat(features_[k].option, ": ", ColumnLabel(header, i),
                                             " is the user column (user_column)"));
      }
      for (size_t j = 0; j < k; ++j) {
        if (layout.features[j] == i) {
          return ingest::RowError(file, first_line,
                                  absl::StrCat(features_[k].option, ": ", ColumnLabel(header, i),
                                               " is also ", features_[j].option));
        }
      }
      layout.features.push_back(i);
    }
  }
  for (size_t i : layout.features) layout.feature_labels.push_back(ColumnLabel(header, i));
  const size_t dim = layout.features.size();

  std::vector<int64_t> ids, lines;
  std::vector<float> values;
  std::error_code size_ec;
  const uintmax_t file_bytes = std::filesystem::file_size(file, size_ec);
  if (!size_ec && file_bytes > 0) {
    // A row takes at least 2 bytes per field.
    const size_t guess = std::min<size_t>(file_bytes / (2 * n) + 1, size_t{1} << 20);
    ids.reserve(guess);
    lines.reserve(guess);
    values.reserve(guess * dim);
  }
  Progress& progress = ctx_->progress();

  // Parses the split fields of the row on line `ln` and appends it.
  auto parse_row = [&](int64_t ln) -> absl::Status {
    const size_t got = split.size();
    if (got != layout.num_fields) {
      return ingest::RowError(
          file, ln,
          absl::StrCat("expected ", layout.num_fields, " fields separated by ", delimiter_text,
                       has_header ? " (as the header has)" : " (as the first row has)", ", got ",
                       got));
    }
    int64_t id;
    const absl::string_view fu = split[layout.user];
    if (!ingest::ParseInt64(fu, &id)) {
      if (fu.empty()) {
        return ingest::RowError(file, ln,
                                absl::StrCat(layout.user_label,
                                             ": expected an integer user id, got an empty field"));
      }
      return ingest::FieldError(file, ln, layout.user_label, "an integer user id", fu);
    }
    const size_t base = values.size();
    values.resize(base + dim);
    for (size_t k = 0; k < dim; ++k) {
      const absl::string_view f = split[layout.features[k]];
      if (!ingest::ParseFiniteFloat(f, &values[base + k])) {
        if (f.empty()) {
          return ingest::RowError(file, ln,
                                  absl::StrCat(layout.feature_labels[k],
                                               ": expected a finite number, got an empty field"));
        }
        return ingest::FieldError(file, ln, layout.feature_labels[k], "a finite number", f);
      }
    }
    ids.push_back(id);
    lines.push_back(ln);
    return absl::OkStatus();
  };

  if (!has_header) RETURN_IF_ERROR(parse_row(first_line));
  while (reader.Next(&line)) {
    if (line.empty()) continue;  // Entirely empty lines are skipped silently.
    split.Split(line);
    RETURN_IF_ERROR(parse_row(reader.line_number()));
    if (ids.size() % kCheckEveryRows == 0) {
      progress.SetDone(static_cast<double>(reader.bytes_read()));
      if (ctx_->cancelled()) return absl::CancelledError("the run was cancelled");
    }
  }
  RETURN_IF_ERROR(reader.status());
  if (reader.last_line_unterminated()) {
    LOG(WARNING) << "[" << ctx_->stage_name() << "] " << file << ":" << reader.line_number()
                 << ": the last line has no newline; was the file cut while being written? "
                    "(the line was read as it is)";
  }
  if (ids.empty()) {
    return ingest::RowError(file, first_line,
                            "the header is followed by no rows; expected one row per user");
  }

  // Sort by user id; rows of one user stay in file order, so the second row
  // of each repeated user is its first repetition.
  std::vector<uint32_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return ids[a] < ids[b]; });
  int64_t dup_line = -1, dup_first = -1, dup_id = 0;
  size_t group = 0;  // First position of the current user in `order`.
  for (size_t r = 1; r < order.size(); ++r) {
    if (ids[order[r]] != ids[order[group]]) {
      group = r;
      continue;
    }
    if (r != group + 1) continue;  // Only the first repetition matters.
    const int64_t ln = lines[order[r]];
    if (dup_line < 0 || ln < dup_line) {
      dup_line = ln;
      dup_first = lines[order[group]];
      dup_id = ids[order[r]];
    }
  }
  if (dup_line >= 0) {
    return ingest::RowError(
        file, dup_line,
        absl::StrCat(layout.user_label, ": user ", dup_id, " appears again (first on line ",
                     dup_first, "); expected each user once"));
  }

  auto table = std::make_shared<UserFeatureTable>();
  table->dim = static_cast<int>(dim);
  table->user_id.resize(ids.size());
  table->values.resize(values.size());
  for (size_t r = 0; r < order.size(); ++r) {
    table->user_id[r] = ids[order[r]];
    std::copy_n(values.begin() + static_cast<ptrdiff_t>(order[r] * dim), dim,
                table->values.begin() + static_cast<ptrdiff_t>(r * dim));
  }
  progress.SetDone(static_cast<double>(reader.bytes_read()));
  return table;
}

absl::Status UserFeatureReader::Generate(Emitter& out) {
  RETURN_IF_ERROR(CheckOpened());
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(file_, ec);
  ctx_->progress().SetTotal(ec ? 0.0 : static_cast<double>(bytes), "bytes");
  ctx_->progress().SetDone(0);
  ASSIGN_OR_RETURN(std::shared_ptr<UserFeatureTable> table, ReadTable());
  const size_t users = table->size();
  const int dim = table->dim;
  ctx_->progress().AddRows(users);
  RETURN_IF_ERROR(out.Emit(0, PayloadType::kUserFeatures,
                           std::shared_ptr<const UserFeatureTable>(std::move(table))));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LOG(INFO) << absl::StrFormat(
      "[%s] UserFeatureReader: read %d users x %d features from %s in %.2f s",
      ctx_->stage_name(), users, dim, file_, secs);
  return absl::OkStatus();
}

RESACT_REGISTER_STAGE(UserFeatureReader);

}  // namespace resact
