#include "stages/ingest/line_reader.h"

#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "graph/fault.h"
#include "graph/status.h"

namespace resact {
namespace ingest {
namespace {

namespace fs = std::filesystem;

bool HasGlobChars(const std::string& path) {
  return path.find_first_of("*?[") != std::string::npos;
}

// The entries of folder `dir` (names), sorted.
absl::StatusOr<std::vector<fs::directory_entry>> ListFolder(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("path '", dir, "': cannot list the folder: ", ec.message()));
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    entries.push_back(*it);
  }
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("path '", dir, "': cannot list the folder: ", ec.message()));
  }
  std::sort(entries.begin(), entries.end(),
            [](const fs::directory_entry& a, const fs::directory_entry& b) {
              return a.path().filename() < b.path().filename();
            });
  return entries;
}

bool MatchesAny(const std::string& name, const std::vector<std::string>& patterns) {
  if (patterns.empty()) return true;
  for (const std::string& p : patterns) {
    if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

// Appends the files of folder `dir` to `files` following the rule of
// ResolveInputFiles, and the entries not taken to `skipped`. Returns how
// many were added.
absl::StatusOr<size_t> ExpandFolder(const std::string& dir,
                                    const std::vector<std::string>& folder_names,
                                    const std::vector<std::string>& folder_patterns,
                                    std::vector<std::string>* files,
                                    std::vector<std::string>* skipped) {
  std::error_code ec;
  if (!folder_names.empty()) {
    for (const std::string& name : folder_names) {
      fs::path p = fs::path(dir) / name;
      if (fs::is_regular_file(p, ec)) {
        files->push_back(p.string());
        if (skipped != nullptr) {
          absl::StatusOr<std::vector<fs::directory_entry>> entries = ListFolder(dir);
          if (entries.ok()) {
            for (const fs::directory_entry& e : *entries) {
              if (e.path().filename() != name) skipped->push_back(e.path().string());
            }
          }
        }
        return 1;
      }
    }
    return 0;
  }
  ASSIGN_OR_RETURN(std::vector<fs::directory_entry> entries, ListFolder(dir));
  size_t added = 0;
  for (const fs::directory_entry& e : entries) {
    const std::string name = e.path().filename().string();
    std::error_code type_ec;
    if (!name.empty() && name[0] != '.' && e.is_regular_file(type_ec) &&
        MatchesAny(name, folder_patterns)) {
      files->push_back(e.path().string());
      ++added;
    } else if (skipped != nullptr) {
      skipped->push_back(e.path().string());
    }
  }
  return added;
}

std::string FolderRuleText(const std::vector<std::string>& folder_names,
                           const std::vector<std::string>& folder_patterns) {
  if (!folder_names.empty()) return absl::StrCat("none of ", absl::StrJoin(folder_names, ", "));
  if (folder_patterns.empty()) return "no regular files";
  return absl::StrCat("no regular file matching ", absl::StrJoin(folder_patterns, ", "),
                      " (hidden files are skipped; see folder_pattern)");
}

// InvalidArgument when two of `files` are the same file.
absl::Status CheckDistinctFiles(const std::string& path, const std::vector<std::string>& files) {
  struct Id {
    dev_t dev;
    ino_t ino;
    bool operator<(const Id& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
  };
  std::map<Id, size_t> seen;
  for (size_t i = 0; i < files.size(); ++i) {
    struct stat st;
    if (::stat(files[i].c_str(), &st) != 0) continue;  // Reading will name the problem.
    auto [it, inserted] = seen.emplace(Id{st.st_dev, st.st_ino}, i);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "path '", path, "': '", files[it->second], "' and '", files[i],
          "' are the same file (device ", st.st_dev, ", inode ", st.st_ino,
          "); a file read twice doubles its rows: list each file once"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& DefaultFolderPatterns() {
  static const std::vector<std::string>* const kPatterns =
      new std::vector<std::string>{"*.csv", "*.tsv", "*.log", "*.dat"};
  return *kPatterns;
}

absl::StatusOr<std::vector<std::string>> ResolveInputFiles(
    const std::string& path, const std::vector<std::string>& folder_names,
    const std::vector<std::string>& folder_patterns, std::vector<std::string>* skipped) {
  if (path.empty()) return absl::InvalidArgumentError("path is empty");
  std::vector<std::string> files;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (!ec && fs::exists(st)) {
    if (fs::is_directory(st)) {
      ASSIGN_OR_RETURN(size_t n,
                       ExpandFolder(path, folder_names, folder_patterns, &files, skipped));
      if (n == 0) {
        return absl::NotFoundError(absl::StrCat(
            "path '", path, "': the folder has ", FolderRuleText(folder_names, folder_patterns)));
      }
      RETURN_IF_ERROR(CheckDistinctFiles(path, files));
      return files;
    }
    files.push_back(path);  // A file (or a device or pipe: let reading decide).
    return files;
  }
  if (!HasGlobChars(path)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return absl::NotFoundError(absl::StrCat("path '", path, "': ", ec.message()));
    }
    return absl::NotFoundError(absl::StrCat("path '", path, "': no such file or folder"));
  }
  glob_t g;
  const int rc = glob(path.c_str(), 0, nullptr, &g);
  if (rc == GLOB_NOMATCH) {
    globfree(&g);
    return absl::NotFoundError(absl::StrCat("path '", path, "': no file matches the pattern"));
  }
  if (rc != 0) {
    globfree(&g);
    return absl::NotFoundError(absl::StrCat("path '", path, "': cannot expand the pattern (",
                                            rc == GLOB_ABORTED ? "read error" : "out of memory",
                                            ")"));
  }
  std::vector<std::string> matches(g.gl_pathv, g.gl_pathv + g.gl_pathc);
  globfree(&g);
  std::sort(matches.begin(), matches.end());
  for (const std::string& m : matches) {
    std::error_code mec;
    fs::file_status mst = fs::status(m, mec);
    if (mec) continue;  // E.g. a dangling symlink.
    if (fs::is_directory(mst)) {
      ASSIGN_OR_RETURN(size_t n, ExpandFolder(m, folder_names, folder_patterns, &files, skipped));
      (void)n;
    } else if (fs::is_regular_file(mst)) {
      files.push_back(m);
    }
  }
  if (files.empty()) {
    return absl::NotFoundError(absl::StrCat("path '", path,
                                            "': the pattern matches no readable file (matched ",
                                            matches.size(), " entries)"));
  }
  RETURN_IF_ERROR(CheckDistinctFiles(path, files));
  return files;
}

absl::StatusOr<ColumnOption> ParseColumnOption(const std::string& option, const std::string& spec,
                                               bool has_header) {
  if (spec.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": must name a column (a header name or a 0-based index)"));
  }
  ColumnOption c{option, spec, -1};
  if (spec.size() <= 6 && std::all_of(spec.begin(), spec.end(),
                                      [](char ch) { return ch >= '0' && ch <= '9'; })) {
    c.index = std::stoi(spec);
  }
  if (!has_header && c.index < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        option, ": '", spec, "' is not a 0-based column index, and has_header is false"));
  }
  return c;
}

absl::Status CheckDelimiter(const std::string& delimiter) {
  if (delimiter.empty()) return absl::InvalidArgumentError("delimiter: must not be empty");
  if (delimiter.find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError("delimiter: must not contain a line break");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ResolveAndLogInputFiles(
    const StageContext& ctx, absl::string_view reader, const std::string& path,
    const std::vector<std::string>& folder_names,
    const std::vector<std::string>& folder_patterns) {
  std::vector<std::string> skipped;
  ASSIGN_OR_RETURN(std::vector<std::string> files,
                   ResolveInputFiles(path, folder_names, folder_patterns, &skipped));
  if (!skipped.empty()) {
    std::vector<std::string> names;
    for (size_t i = 0; i < std::min<size_t>(skipped.size(), 5); ++i) {
      names.push_back(fs::path(skipped[i]).filename().string());
    }
    LOG(INFO) << "[" << ctx.stage_name() << "] " << reader << ": skipped " << skipped.size()
              << (skipped.size() == 1 ? " entry" : " entries") << " of the folder ("
              << absl::StrJoin(names, ", ") << (skipped.size() > 5 ? ", ..." : "") << "): "
              << (folder_names.empty()
                      ? (folder_patterns.empty()
                             ? std::string("hidden or not a regular file")
                             : absl::StrCat("hidden, not a regular file, or matching none of ",
                                            absl::StrJoin(folder_patterns, " ")))
                      : absl::StrCat("only the first of ", absl::StrJoin(folder_names, ", "),
                                     " is read"));
  }
  ctx.RecordSource(InputFilesFingerprint(files), DescribeInputFiles(files));
  LOG(INFO) << "[" << ctx.stage_name() << "] " << reader << ": " << files.size()
            << (files.size() == 1 ? " file: " : " files: ")
            << absl::StrJoin(files.begin(), files.begin() + std::min<size_t>(files.size(), 5), ", ")
            << (files.size() > 5 ? ", ..." : "");
  return files;
}

std::string InputFilesFingerprint(const std::vector<std::string>& files) {
  std::string text;
  for (const std::string& f : files) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(f, ec);
    const uintmax_t size = fs::file_size(f, ec);
    const auto mtime = fs::last_write_time(f, ec);
    absl::StrAppend(&text, ec ? f : canonical.string(), "\t", ec ? 0 : size, "\t",
                    ec ? 0 : mtime.time_since_epoch().count(), "\n");
  }
  return text;
}

std::string DescribeInputFiles(const std::vector<std::string>& files) {
  const double mb = static_cast<double>(TotalFileBytes(files)) / 1e6;
  std::string first = files.empty() ? "" : files.front();
  return absl::StrFormat("%d file%s, %.1f MB (%s%s)", files.size(), files.size() == 1 ? "" : "s",
                         mb, first, files.size() > 1 ? ", ..." : "");
}

uint64_t TotalFileBytes(const std::vector<std::string>& files) {
  uint64_t total = 0;
  for (const std::string& f : files) {
    std::error_code ec;
    uintmax_t n = fs::file_size(f, ec);
    if (!ec) total += n;
  }
  return total;
}

// ---------------------------------------------------------------------------

LineReader::LineReader(size_t block_bytes, size_t max_line_bytes)
    : capacity_(std::max<size_t>(block_bytes, 1)), max_line_bytes_(max_line_bytes) {}

LineReader::~LineReader() { Close(); }

void LineReader::Close() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  pos_ = end_ = 0;
  eof_ = true;
}

absl::Status LineReader::Open(const std::string& path) {
  Close();
  path_ = path;
  unterminated_ = false;
  line_number_ = 0;
  bytes_read_ = 0;
  status_ = absl::OkStatus();
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    const int err = errno;
    status_ = absl::Status(absl::ErrnoToStatusCode(err),
                           absl::StrCat(path, ": cannot open the file: ", std::strerror(err)));
    return status_;
  }
  // Blocks go straight from read(2) into buf_.
  std::setvbuf(file_, nullptr, _IONBF, 0);
  if (buf_ == nullptr) buf_.reset(new char[capacity_]);
  eof_ = false;
  return absl::OkStatus();
}

void LineReader::Refill() {
  if (file_ == nullptr) {
    eof_ = true;
    return;
  }
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == capacity_) {  // One line fills the buffer: grow it.
    if (capacity_ >= max_line_bytes_) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(path_, ":", line_number_ + 1, ": a line longer than ", max_line_bytes_,
                       " bytes; is this a text log?"));
      eof_ = true;
      return;
    }
    size_t grown = capacity_ * 2;
    std::unique_ptr<char[]> bigger(new char[grown]);
    std::memcpy(bigger.get(), buf_.get(), end_);
    buf_ = std::move(bigger);
    capacity_ = grown;
  }
  const size_t want = capacity_ - end_;
  const size_t got = std::fread(buf_.get() + end_, 1, want, file_);
  end_ += got;
  bytes_read_ += got;
  if (got < want) {
    if (std::ferror(file_)) {
      const int err = errno;
      status_ = absl::Status(absl::ErrnoToStatusCode(err),
                             absl::StrCat(path_, ":", line_number_ + 1,
                                          ": cannot read the file: ", std::strerror(err)));
    }
    eof_ = true;
  }
}

// ---------------------------------------------------------------------------

FieldSplitter::FieldSplitter(std::string delimiter) : delimiter_(std::move(delimiter)) {
  if (delimiter_.empty()) delimiter_ = ",";
  fields_.reserve(16);
}

std::string DescribeDelimiter(absl::string_view delimiter) {
  if (delimiter == "\t") return "tab";
  return absl::StrCat("'", delimiter, "'");
}

TimestampResult ParseTimestampSlow(absl::string_view s, TimeUnit unit, bool allow_fraction,
                                   int64_t* ms) {
  const char* const begin = s.data();
  const char* const end = begin + s.size();
  // Integer overflow ("99999999999999999999") or a negative number
  // ("-1.5"): tell them apart from garbage for the message.
  {
    int64_t iv;
    auto r = std::from_chars(begin, end, iv);
    if (r.ec == std::errc::result_out_of_range && r.ptr == end) {
      return begin[0] == '-' ? TimestampResult::kNegative : TimestampResult::kOutOfRange;
    }
  }
  double dv;
  auto dr = fast_float::from_chars(begin, end, dv);
  const bool is_number = dr.ec == std::errc() && dr.ptr == end && std::isfinite(dv);
  if (!is_number) return TimestampResult::kNotANumber;
  if (dv < 0) return TimestampResult::kNegative;
  // A number, but not an integer.
  if (!allow_fraction) return TimestampResult::kNotANumber;

  // Plain decimals ("1.5", ".25", "7."): exact, digit by digit.
  const char* dot = static_cast<const char*>(std::memchr(begin, '.', s.size()));
  bool plain = dot != nullptr && begin[0] != '-';
  if (plain) {
    for (const char* p = begin; p < end; ++p) {
      if (p != dot && (*p < '0' || *p > '9')) {
        plain = false;
        break;
      }
    }
  }
  if (plain) {
    uint64_t ip = 0;
    if (dot > begin) {
      auto r = std::from_chars(begin, dot, ip);
      if (r.ec != std::errc() || r.ptr != dot) return TimestampResult::kOutOfRange;
    }
    // Up to three fraction digits matter for milliseconds from seconds.
    uint64_t frac_ms = 0;
    int digits = 0;
    for (const char* p = dot + 1; p < end && digits < 3; ++p, ++digits) {
      frac_ms = frac_ms * 10 + static_cast<uint64_t>(*p - '0');
    }
    for (; digits < 3; ++digits) frac_ms *= 10;
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    uint64_t out = 0;
    switch (unit) {
      case TimeUnit::kSeconds:
        if (ip > (kMax - frac_ms) / 1000) return TimestampResult::kOutOfRange;
        out = ip * 1000 + frac_ms;
        break;
      case TimeUnit::kMilliseconds:
        if (ip > kMax) return TimestampResult::kOutOfRange;
        out = ip;
        break;
      case TimeUnit::kMicroseconds:
        out = ip / 1000;
        break;
    }
    *ms = static_cast<int64_t>(out);
    return TimestampResult::kOk;
  }
  // Exponent notation ("1.6e9"): through a double.
  double scaled = dv;
  switch (unit) {
    case TimeUnit::kSeconds: scaled = dv * 1000.0; break;
    case TimeUnit::kMilliseconds: break;
    case TimeUnit::kMicroseconds: scaled = dv / 1000.0; break;
  }
  scaled = std::floor(scaled);
  if (!(scaled < 9.2e18)) return TimestampResult::kOutOfRange;
  *ms = static_cast<int64_t>(scaled);
  return TimestampResult::kOk;
}

// ---------------------------------------------------------------------------

absl::StatusOr<TimestampWindow> TimestampWindow::Make(int64_t min_s, int64_t max_s) {
  if (min_s > max_s) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_timestamp (", min_s, " s, ", UtcDate(min_s), ") must not be after max_timestamp (",
        max_s, " s, ", UtcDate(max_s), ")"));
  }
  constexpr int64_t kMaxS = std::numeric_limits<int64_t>::max() / 1000;
  constexpr int64_t kMinS = std::numeric_limits<int64_t>::min() / 1000;
  TimestampWindow w;
  w.min_s = min_s;
  w.max_s = max_s;
  w.min_ms = min_s <= kMinS ? std::numeric_limits<int64_t>::min()
                            : (min_s >= kMaxS ? std::numeric_limits<int64_t>::max() : min_s * 1000);
  // Every millisecond of the last second counts as inside.
  w.max_ms = max_s >= kMaxS ? std::numeric_limits<int64_t>::max()
                            : (max_s <= kMinS ? std::numeric_limits<int64_t>::min()
                                              : max_s * 1000 + 999);
  return w;
}

std::string UtcDate(int64_t s) {
  const time_t t = static_cast<time_t>(s);
  struct tm tm;
  if (gmtime_r(&t, &tm) == nullptr) return absl::StrCat("year beyond ", s / 31556952 + 1970);
  return absl::StrFormat("%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

absl::Status TimestampWindowError(const std::string& file, int64_t line, absl::string_view column,
                                  int64_t ts_ms, const TimestampWindow& window) {
  const int64_t s = ts_ms / 1000;
  std::string value = ts_ms % 1000 == 0 ? absl::StrCat(s)
                                        : absl::StrFormat("%.3f", static_cast<double>(ts_ms) / 1e3);
  const std::string& hint = ts_ms > window.max_ms ? window.hint_above : window.hint_below;
  return absl::InvalidArgumentError(absl::StrCat(
      file, ":", line, ": ", column, ": ", value, " s (", UtcDate(s),
      ") is outside the plausible window [", UtcDate(window.min_s), ", ", UtcDate(window.max_s),
      "] (options min_timestamp, max_timestamp)", hint.empty() ? "" : "; ", hint));
}

std::string Quote(absl::string_view s) {
  constexpr size_t kMax = 60;
  if (s.size() <= kMax) return absl::StrCat("'", s, "'");
  return absl::StrCat("'", s.substr(0, kMax), "'... (", s.size(), " characters)");
}

absl::Status RowError(const std::string& file, int64_t line, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(file, ":", line, ": ", message));
}

absl::Status FieldError(const std::string& file, int64_t line, absl::string_view column,
                        absl::string_view expected, absl::string_view value) {
  return absl::InvalidArgumentError(
      absl::StrCat(file, ":", line, ": ", column, ": expected ", expected, ", got ", Quote(value)));
}

absl::Status EmptyFieldError(const std::string& file, int64_t line, absl::string_view column) {
  return absl::InvalidArgumentError(absl::StrCat(file, ":", line, ": ", column, ": empty field"));
}

// ---------------------------------------------------------------------------

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
