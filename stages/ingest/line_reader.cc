// LineReader: see line_reader.h.
#include "stages/ingest/line_reader.h"

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"

namespace resact {
namespace ingest {

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

}  // namespace ingest
}  // namespace resact
