// LineReader: a file read in large blocks (8 MiB by default) as numbered
// lines, without copies, handling CRLF, a UTF-8 byte-order mark and a last
// line without a newline. The readers' lowest layer; fields.h splits and
// parses the lines, ingest_loop.h drives a LineReader over a reader's files.
// In namespace resact::ingest.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace resact {
namespace ingest {

// Reads a file as lines, a large block at a time. A line is returned without
// its "\n" or "\r\n"; a last line without a newline is returned too; a UTF-8
// byte-order mark at the start of the file is dropped. The returned view is
// valid until the next call of Next() or Open(). A line longer than the
// block grows the buffer, up to kMaxLineBytes. One reader can read many
// files in turn.
class LineReader {
 public:
  static constexpr size_t kDefaultBlockBytes = size_t{8} << 20;
  // A longer line is an error (InvalidArgument), not an unbounded buffer.
  static constexpr size_t kMaxLineBytes = size_t{64} << 20;

  explicit LineReader(size_t block_bytes = kDefaultBlockBytes,
                      size_t max_line_bytes = kMaxLineBytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Opens `path` (closing the previous file). Error: the file cannot be
  // opened, naming it and the reason.
  absl::Status Open(const std::string& path);
  void Close();

  // The next line, or false at the end of the file or on a read error (then
  // status() is not OK).
  bool Next(absl::string_view* line);
  // The next line that is not empty (a reader's header or first row),
  // skipping empty ones; false as Next().
  bool NextNonEmpty(absl::string_view* line) {
    while (Next(line)) {
      if (!line->empty()) return true;
    }
    return false;
  }

  // True once Next() has returned a last line that had no newline (a file
  // cut while being written, or an editor that drops the final newline).
  bool last_line_unterminated() const { return unterminated_; }
  // 1-based number of the line last returned by Next(); 0 before the first.
  int64_t line_number() const { return line_number_; }
  // Bytes read from the file so far.
  uint64_t bytes_read() const { return bytes_read_; }
  // OK unless reading failed.
  const absl::Status& status() const { return status_; }
  const std::string& path() const { return path_; }

 private:
  // Moves the unread tail to the front and reads the next block; sets eof_
  // at the end of the file and status_ on an error.
  void Refill();

  std::string path_;
  FILE* file_ = nullptr;
  std::unique_ptr<char[]> buf_;
  size_t capacity_;
  const size_t max_line_bytes_;
  size_t pos_ = 0;  // First unread byte in buf_.
  size_t end_ = 0;  // One past the last valid byte in buf_.
  bool eof_ = true;
  bool unterminated_ = false;
  int64_t line_number_ = 0;
  uint64_t bytes_read_ = 0;
  absl::Status status_;
};

inline bool LineReader::Next(absl::string_view* line) {
  for (;;) {
    const char* begin = buf_.get() + pos_;
    const size_t avail = end_ - pos_;
    const char* nl =
        avail == 0 ? nullptr : static_cast<const char*>(std::memchr(begin, '\n', avail));
    size_t len;
    if (nl != nullptr) {
      len = static_cast<size_t>(nl - begin);
      pos_ += len + 1;
    } else if (eof_) {
      if (avail == 0) return false;
      len = avail;
      pos_ = end_;
      unterminated_ = true;
    } else {
      Refill();
      if (!status_.ok()) return false;
      continue;
    }
    if (len > 0 && begin[len - 1] == '\r') --len;
    ++line_number_;
    if (line_number_ == 1 && len >= 3 && std::memcmp(begin, "\xEF\xBB\xBF", 3) == 0) {
      begin += 3;
      len -= 3;
    }
    *line = absl::string_view(begin, len);
    return true;
  }
}

}  // namespace ingest
}  // namespace resact
