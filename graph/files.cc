#include "graph/files.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "graph/fault.h"
#include "graph/hash.h"

namespace resact {
namespace fs = std::filesystem;

namespace {

absl::Status ErrnoError(int err, absl::string_view what, const std::string& path) {
  const std::string msg = absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(msg);
  if (err == EACCES || err == EPERM || err == EROFS) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

std::string ParentOf(const std::string& path) {
  fs::path p = fs::path(path).parent_path();
  return p.empty() ? "." : p.string();
}

}  // namespace

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open the folder", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some filesystems do not sync folders; that is not a failed write.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) return ErrnoError(err, "sync the folder", dir);
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& bytes,
                                 const char* fault_point) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(errno, "create", tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoError(err, "write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError(err, "sync", tmp);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(err, "close", tmp);
  }
  if (fault_point != nullptr) FaultPoint(fault_point);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(err, "rename to", path);
  }
  return SyncDirectory(ParentOf(path));
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ",
                                                               std::strerror(err)));
    return ErrnoError(err, "open", path);
  }
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoError(err, "read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::Status ReplaceDirectory(const std::string& staging, const std::string& target) {
  std::error_code ec;
  const bool have_target = fs::exists(target, ec);
  const std::string parent = ParentOf(target);
  if (!have_target) {
    if (::rename(staging.c_str(), target.c_str()) != 0) {
      return ErrnoError(errno, absl::StrCat("rename ", staging, " to"), target);
    }
    return SyncDirectory(parent);
  }
#ifdef SYS_renameat2
  constexpr unsigned kRenameExchange = 1u << 1;  // RENAME_EXCHANGE
  if (::syscall(SYS_renameat2, AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(),
                kRenameExchange) == 0) {
    FaultPoint("dir.exchanged");
    {
      absl::Status s = SyncDirectory(parent);
      if (!s.ok()) return s;
    }
    fs::remove_all(staging, ec);  // The old folder, now at staging's path.
    return absl::OkStatus();
  }
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    return ErrnoError(errno, absl::StrCat("exchange ", staging, " with"), target);
  }
#endif
  const std::string previous = target + ".previous";
  fs::remove_all(previous, ec);
  if (::rename(target.c_str(), previous.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("rename ", target, " to"), previous);
  }
  if (::rename(staging.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::rename(previous.c_str(), target.c_str());
    return ErrnoError(err, absl::StrCat("rename ", staging, " to"), target);
  }
  absl::Status s = SyncDirectory(parent);
  if (!s.ok()) return s;
  FaultPoint("dir.exchanged");
  fs::remove_all(previous, ec);
  return absl::OkStatus();
}

absl::StatusOr<bool> RecoverReplacedDirectory(const std::string& target) {
  std::error_code ec;
  const std::string previous = target + ".previous";
  if (fs::exists(target, ec) || !fs::exists(previous, ec)) return false;
  if (::rename(previous.c_str(), target.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("rename ", previous, " back to"), target);
  }
  return true;
}

uint64_t Checksum64(absl::string_view bytes) {
  uint64_t h = Mix64(bytes.size() ^ 0x72657361637431ULL);
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = Mix64(h ^ w);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  return Mix64(h ^ tail ^ (static_cast<uint64_t>(bytes.size() - i) << 56));
}

namespace {
constexpr absl::string_view kSumMagic = "RESACT-SUM1 ";
}  // namespace

std::string WithChecksumHeader(absl::string_view payload) {
  std::string out = absl::StrFormat("%s%016x %d\n", kSumMagic, Checksum64(payload), payload.size());
  out.append(payload.data(), payload.size());
  return out;
}

absl::StatusOr<std::string> StripChecksumHeader(std::string file, bool* verified) {
  *verified = false;
  if (!absl::StartsWith(file, kSumMagic)) return file;
  const size_t nl = file.find('\n');
  if (nl == std::string::npos || nl > 64) {
    return absl::DataLossError("damaged checksum header (no end of line)");
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(file).substr(kSumMagic.size(), nl - kSumMagic.size()), ' ');
  uint64_t sum = 0, size = 0;
  if (parts.size() != 2 || !absl::SimpleHexAtoi(parts[0], &sum) ||
      !absl::SimpleAtoi(parts[1], &size)) {
    return absl::DataLossError("damaged checksum header");
  }
  // Only the header WithChecksumHeader writes is accepted: absl's SimpleHexAtoi
  // and SimpleAtoi also take upper case, "0x", "+", leading zeros and spaces,
  // so "RESACT-SUM1 Af2b...f0 17" verified although it is not the frame of its
  // payload (found by fuzz_checksum_frame).
  if (absl::string_view(file).substr(0, nl + 1) !=
      absl::StrFormat("%s%016x %d\n", kSumMagic, sum, size)) {
    return absl::DataLossError("damaged checksum header (not in its written form)");
  }
  absl::string_view payload = absl::string_view(file).substr(nl + 1);
  if (payload.size() != size) {
    return absl::DataLossError(absl::StrFormat(
        "the file is cut or damaged: %d bytes after the header, which records %d", payload.size(),
        size));
  }
  const uint64_t got = Checksum64(payload);
  if (got != sum) {
    return absl::DataLossError(
        absl::StrFormat("the file is damaged: checksum %016x, the header records %016x", got, sum));
  }
  *verified = true;
  return std::string(payload);
}

}  // namespace resact
