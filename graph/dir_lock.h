// An exclusive lock on a folder for one writer process: a second `resact run`
// on the same workdir (or a second learner on the same run folder) fails at
// once with an error naming the holder, instead of both appending to the
// same files. The lock is flock(2) on FOLDER/.resact.lock, so the kernel
// releases it when the holder exits, even by SIGKILL: a killed run never
// leaves a stale lock. The file records the holder (pid, host, start time,
// command) for the message; it is not removed, and its content alone never
// blocks anyone.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<DirLock> lock, DirLock::Acquire(workdir, "resact run x"));
//   ... write into workdir ...
//   // released when `lock` is destroyed or the process ends
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace resact {

class DirLock {
 public:
  // Locks `dir` (created when missing). FailedPrecondition naming the
  // holder when another process holds it; another error when the lock file
  // cannot be created (e.g. a read-only folder), naming it.
  static absl::StatusOr<std::unique_ptr<DirLock>> Acquire(const std::string& dir,
                                                          const std::string& what);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

  static constexpr const char* kFileName = ".resact.lock";

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace resact
