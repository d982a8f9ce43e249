// Test helpers shared by the test files: temporary folders that remove
// themselves, reading whole files, and running the resact binary.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace resact {
namespace testing_util {

// A fresh folder under the test temp dir, removed with its content when the
// object goes out of scope.
class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::path(::testing::TempDir()) /
             ("resact_" + tag + "_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScopedTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& sub) const { return path_ + "/" + sub; }

 private:
  std::string path_;
};

// A shipped spec: SOURCE/pipelines/NAME.
inline std::string ShippedSpec(const std::string& name) {
  return std::string(RESACT_SOURCE_DIR) + "/pipelines/" + name;
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteWholeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

struct BinaryResult {
  int exit_code = -1;  // -1 when killed by a signal.
  int signal = 0;      // The signal that ended it, else 0.
  std::string output;  // stdout and stderr, interleaved.
};

// Runs the resact binary (RESACT_BINARY) with `args` in `cwd` (default: the
// source tree), `env` added to the environment, and optionally as another
// user (uid/gid, when run as root). Waits for it to end.
inline BinaryResult RunResact(const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env = {},
                              const std::string& cwd = RESACT_SOURCE_DIR, int uid = -1) {
  // The output goes to a file in the test temp dir, removed before returning.
  std::string out_path =
      (std::filesystem::path(::testing::TempDir()) / "resact_binary_out_XXXXXX").string();
  const int out_fd = ::mkstemp(out_path.data());
  BinaryResult r;
  if (out_fd < 0) return r;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd);
    ::unlink(out_path.c_str());
    return r;
  }
  if (pid == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, STDIN_FILENO);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    if (uid >= 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(125);
    }
    std::vector<char*> argv;
    std::string bin = RESACT_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out_fd);
  r.output = ReadWholeFile(out_path);
  ::unlink(out_path.c_str());
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

// Runs `resact ARGS` through the shell (ARGS as one string, so quoting and
// redirections work as typed), stdout and stderr together.
inline BinaryResult RunResactShell(const std::string& args) {
  const std::string cmd = std::string(RESACT_BINARY) + " " + args + " 2>&1";
  BinaryResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace testing_util
}  // namespace resact
