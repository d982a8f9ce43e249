// Crash safety of the replay writer: over a COMPLETE replay, a child process
// writes many batches and is killed with SIGKILL mid-run. The earlier replay
// must be exactly as it was; every batch the child acknowledged (through a
// pipe, after Process() returned) must be in its staging store on reopen;
// running the full write again ends with exactly the content of an
// uninterrupted run.
//
// The child is this test binary itself (fork + exec of /proc/self/exe running
// the disabled test ReplayCrashChild.DISABLED_WriteUntilKilled), so that it
// starts with fresh RocksDB thread pools rather than a forked copy of ours.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "glog/logging.h"
#include "gtest/gtest.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"
#include "tests/replay/replay_test_util.h"

namespace resact {
namespace {

using replay_test::SynthBatch;
using replay_test::SynthItems;
using replay_test::SynthOptions;
using replay_test::WriteSynthReplay;
using testing_util::ScopedTempDir;

constexpr int kBatches = 400;
constexpr int kKillAfterAcks = 40;
constexpr char kFingerprint[] = "crash-test-source";

SynthOptions CrashOptions() {
  SynthOptions o;
  o.users_per_batch = 25;
  o.logprob = true;
  return o;
}

absl::Status WriteAll(const std::string& workdir) {
  return WriteSynthReplay(workdir, CrashOptions(), kBatches, kFingerprint);
}

// Run only as the child of ReplayCrash.KilledWriterLosesNoAcknowledgedBatch.
TEST(ReplayCrashChild, DISABLED_WriteUntilKilled) {
  const char* workdir = std::getenv("RESACT_CRASH_WORKDIR");
  const char* fd_text = std::getenv("RESACT_CRASH_ACK_FD");
  if (workdir == nullptr || fd_text == nullptr) GTEST_SKIP() << "only run by the crash test";
  const int fd = std::atoi(fd_text);
  // Acknowledge each batch after its write returned. The end is not reached
  // when the parent kills us in time; then the parent fails.
  absl::Status s = WriteSynthReplay(workdir, CrashOptions(), kBatches, kFingerprint, [fd](int k) {
    const int32_t ack = k;
    if (write(fd, &ack, sizeof(ack)) == static_cast<ssize_t>(sizeof(ack))) return absl::OkStatus();
    return absl::InternalError("cannot write the acknowledgement");
  });
  ASSERT_TRUE(s.ok()) << s;
}

// Checks that every record of batch k is in the store with the right values.
void ExpectBatchPresent(const ReplayStore& store, const ReplayBatch& b, int k) {
  const SessionBatch& s = *b.sessions;
  for (size_t u = 0; u < s.num_users(); ++u) {
    auto ur = store.GetUser(s.user[u]);
    ASSERT_TRUE(ur.ok()) << "batch " << k << " user " << s.user[u] << ": " << ur.status();
    EXPECT_EQ(ur->num_sessions, s.user_offset[u + 1] - s.user_offset[u]);
    for (uint32_t j = s.user_offset[u]; j < s.user_offset[u + 1]; ++j) {
      const uint32_t sj = j - s.user_offset[u];
      auto sr = store.GetSession(s.user[u], sj);
      ASSERT_TRUE(sr.ok()) << "batch " << k << ": " << sr.status();
      EXPECT_EQ(sr->start_ts_ms, s.ts_ms[s.session_offset[j]]);
      EXPECT_EQ(sr->r_sl, s.r_sl[j]);
      for (uint64_t r = s.session_offset[j]; r < s.session_offset[j + 1]; ++r) {
        auto tr =
            store.GetTransition(s.user[u], sj, static_cast<uint32_t>(r - s.session_offset[j]));
        ASSERT_TRUE(tr.ok()) << "batch " << k << ": " << tr.status();
        EXPECT_EQ(tr->item_index, b.item_index[r]);
        EXPECT_EQ(tr->dt_ms, static_cast<uint64_t>(s.ts_ms[r] - s.ts_ms[s.session_offset[j]]));
        EXPECT_EQ(tr->feedback, s.feedback[r]);
        EXPECT_EQ(tr->behaviour_logprob, s.behaviour_logprob[r]);
      }
    }
  }
}

TEST(ReplayCrash, KilledWriterLosesNoAcknowledgedBatch) {
  ScopedTempDir crashed("replay_crash"), clean("replay_clean");
  // The earlier, good replay the killed run must not touch.
  ASSERT_TRUE(WriteAll(crashed.path()).ok());
  uint64_t good_checksum = 0;
  std::string good_meta;
  {
    auto store = ReplayStore::Open(crashed / "replay", false);
    ASSERT_TRUE(store.ok()) << store.status();
    good_checksum = *(*store)->ContentChecksum();
    good_meta = (*store)->ReadMeta()->SerializeAsString();
  }

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    setenv("RESACT_CRASH_WORKDIR", crashed.path().c_str(), 1);
    setenv("RESACT_CRASH_ACK_FD", std::to_string(fds[1]).c_str(), 1);
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    execl("/proc/self/exe", "resact_tests",
          "--gtest_filter=ReplayCrashChild.DISABLED_WriteUntilKilled",
          "--gtest_also_run_disabled_tests", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);

  // Wait for some acknowledgements, then kill -9 mid-run.
  std::set<int32_t> acked;
  auto read_ack = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    int32_t k;
    if (read(fds[0], &k, sizeof(k)) != static_cast<ssize_t>(sizeof(k))) return false;
    acked.insert(k);
    return true;
  };
  while (static_cast<int>(acked.size()) < kKillAfterAcks && read_ack(120000)) {
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  // Acknowledgements already in the pipe count too.
  while (read_ack(0)) {
  }
  close(fds[0]);
  ASSERT_GE(static_cast<int>(acked.size()), kKillAfterAcks) << "child produced too few acks";
  ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
      << "the child was not killed mid-run (status " << wstatus << ")";
  ASSERT_LT(static_cast<int>(acked.size()), kBatches) << "the child finished before the kill";
  LOG(INFO) << "child killed after " << acked.size() << " of " << kBatches << " batches";

  const SynthOptions so = CrashOptions();
  auto items = SynthItems(so);
  {
    // The earlier replay is exactly as it was, and readable.
    auto store = ReplayStore::Open(crashed / "replay", false);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(*(*store)->ContentChecksum(), good_checksum);
    EXPECT_EQ((*store)->ReadMeta()->SerializeAsString(), good_meta);
  }
  EXPECT_TRUE(ReplayReader::Load(crashed / "replay").ok());
  {
    // The killed run's staging store holds every acknowledged batch.
    auto store = ReplayStore::Open(crashed / "replay.staging", false);
    ASSERT_TRUE(store.ok()) << store.status();
    auto meta = (*store)->ReadMeta();
    ASSERT_TRUE(meta.ok());
    EXPECT_EQ(meta->state(), ReplayMeta::WRITING);
    for (int32_t k : acked) ExpectBatchPresent(**store, *SynthBatch(so, k, *items), k);
    // Acked batches are a prefix 0..n-1 (serial writer).
    EXPECT_EQ(*acked.rbegin(), static_cast<int32_t>(acked.size()) - 1);
  }
  // Readers refuse the unfinished store.
  auto reader = ReplayReader::Load(crashed / "replay.staging");
  EXPECT_TRUE(absl::IsFailedPrecondition(reader.status())) << reader.status();

  // Run again, and compare with an uninterrupted run; the staging store goes.
  ASSERT_TRUE(WriteAll(crashed.path()).ok());
  EXPECT_FALSE(std::filesystem::exists(crashed / "replay.staging"));
  ASSERT_TRUE(WriteAll(clean.path()).ok());
  auto a = ReplayStore::Open(crashed / "replay", false);
  auto b = ReplayStore::Open(clean / "replay", false);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ma = (*a)->ReadMeta(), mb = (*b)->ReadMeta();
  ASSERT_TRUE(ma.ok() && mb.ok());
  EXPECT_EQ(ma->state(), ReplayMeta::COMPLETE);
  EXPECT_GT(mb->transitions(), 0u);
  EXPECT_EQ(ma->transitions(), mb->transitions());
  EXPECT_EQ(*(*a)->CountRecords(ReplayTable::kTransitions), mb->transitions());
  EXPECT_EQ(ma->SerializeAsString(), mb->SerializeAsString());
  auto ca = (*a)->ContentChecksum(), cb = (*b)->ContentChecksum();
  ASSERT_TRUE(ca.ok() && cb.ok());
  EXPECT_EQ(*ca, *cb);
}

}  // namespace
}  // namespace resact
