// DirLock: one holder at a time, the holder named in the refusal, and no
// stale lock after the holder is killed with SIGKILL.
#include "graph/dir_lock.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

TEST(DirLock, SecondHolderIsRefusedAndAKilledHolderLeavesNoStaleLock) {
  testing_util::ScopedTempDir tmp("dir_lock");
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = DirLock::Acquire(tmp.path(), "the child");
    const char ok = lock.ok() ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    pause();
    _exit(0);
  }
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  ASSERT_EQ(ok, 'y');
  auto second = DirLock::Acquire(tmp.path(), "the parent");
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_NE(second.status().message().find(absl::StrCat("pid ", child)), std::string::npos)
      << second.status();
  EXPECT_NE(second.status().message().find("the child"), std::string::npos) << second.status();
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  auto third = DirLock::Acquire(tmp.path(), "the parent");
  EXPECT_TRUE(third.ok()) << third.status();
  close(ready[0]);
  close(ready[1]);
}

TEST(DirLock, AFolderThatCannotHoldTheLockFileIsAClearError) {
  auto lock = DirLock::Acquire("/proc/self/no_such_folder", "x");
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.status().message().find("/proc/self/no_such_folder"), std::string::npos)
      << lock.status();
}

}  // namespace
}  // namespace resact
