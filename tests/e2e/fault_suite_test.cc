// The fault suite: bad input and faults against the real binary, each
// asserting a clear error (exit code and message) and that what was stored
// before is unchanged (the replay's content checksum and meta):
//   - empty inputs (header only, zero bytes, a folder of empty files);
//   - another source without `overwrite`; a malformed row; a wrong delimiter;
//   - a full disk (a 2 MB tmpfs; skipped where mounting is not allowed);
//   - a read-only workdir (as an unprivileged user; skipped when not root);
//   - a store written by a newer format version;
//   - a damaged SST file: found by `replay verify`, rebuilt by the writer;
//   - kill -9 at every fault point of ingestion (graph/fault.h): the old or
//     the new replay, never a mix, and a re-run equals a clean run.
// The training fault points are in tests/e2e/train_fault_test.cc.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

namespace fs = std::filesystem;
using testing_util::BinaryResult;
using testing_util::RunResact;
using testing_util::ScopedTempDir;
using testing_util::WriteWholeFile;

const std::string kRatings = std::string(RESACT_SHARED_DIR) + "/data/ml-latest-small/ratings.csv";

// The first `rows` data rows of ml-latest-small (with its header) in `path`.
void WriteRatingsPrefix(const std::string& path, int rows) {
  std::ifstream in(kRatings);
  std::ofstream out(path);
  std::string line;
  for (int i = 0; i <= rows && std::getline(in, line); ++i) out << line << "\n";
}

// The replay's content checksum and meta, or the error reading them.
std::string StoreState(const std::string& workdir) {
  ReplayStoreOptions ro;
  ro.read_only = true;
  auto store = ReplayStore::Open(workdir + "/replay", ro);
  if (!store.ok()) return std::string(store.status().message());
  auto sum = (*store)->ContentChecksum();
  auto meta = (*store)->ReadMeta();
  if (!sum.ok()) return std::string(sum.status().message());
  if (!meta.ok()) return std::string(meta.status().message());
  return absl::StrCat(*sum, "/", meta->SerializeAsString());
}

uint64_t Transitions(const std::string& workdir) {
  auto reader = testing_util::LoadRunReplay(workdir);
  return reader.ok() ? (*reader)->num_transitions() : 0;
}

BinaryResult Ingest(const std::string& workdir, const std::string& input,
                    std::vector<std::string> extra = {},
                    const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> args = {"run", "pipelines/movielens.pbtxt", "--workdir", workdir,
                                   "--progress-interval", "0", "--set",
                                   "ingest.path=" + input, "--set", "ingest.batch_rows=5000"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunResact(args, env);
}

class FaultSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteRatingsPrefix(tmp_ / "small.csv", 25000);
    ASSERT_EQ(Ingest(work(), tmp_ / "small.csv").exit_code, 0);
    before_ = StoreState(work());
    ASSERT_GT(Transitions(work()), 0u);
  }
  std::string work() const { return tmp_ / "work"; }
  void ExpectUnchanged() {
    EXPECT_EQ(StoreState(work()), before_);
    EXPECT_FALSE(fs::exists(work() + "/replay.staging"));
  }
  ScopedTempDir tmp_{"fault_suite"};
  std::string before_;
};

TEST_F(FaultSuite, EmptyInputsLeaveTheReplayAlone) {
  WriteWholeFile(tmp_ / "header_only.csv", "userId,movieId,rating,timestamp\n");
  WriteWholeFile(tmp_ / "zero_bytes.csv", "");
  fs::create_directories(tmp_ / "empty_folder");
  WriteWholeFile(tmp_ / "empty_folder/a.csv", "");
  WriteWholeFile(tmp_ / "empty_folder/b.csv", "");
  for (const std::string input :
       {tmp_ / "header_only.csv", tmp_ / "zero_bytes.csv", tmp_ / "empty_folder"}) {
    for (const std::vector<std::string>& extra :
         {std::vector<std::string>{}, std::vector<std::string>{"--set", "replay.overwrite=true"}}) {
      BinaryResult r = Ingest(work(), input, extra);
      EXPECT_EQ(r.exit_code, 1) << input << "\n" << r.output;
      EXPECT_NE(r.output.find("error:"), std::string::npos) << r.output;
      ExpectUnchanged();
    }
  }
  // Allowed on both ends, an empty run keeps the stored replay as it is.
  BinaryResult r = Ingest(work(), tmp_ / "header_only.csv",
                          {"--set", "ingest.allow_empty=true", "--set", "replay.allow_empty=true",
                           "--set", "replay.overwrite=true"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ExpectUnchanged();
}

TEST_F(FaultSuite, AnotherSourceIsRefusedUnlessOverwrite) {
  BinaryResult r = Ingest(work(), kRatings);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("different source"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("replay.overwrite=true"), std::string::npos) << r.output;
  ExpectUnchanged();
  // The same source again replaces the replay with an identical one.
  EXPECT_EQ(Ingest(work(), tmp_ / "small.csv").exit_code, 0);
  ExpectUnchanged();
  r = Ingest(work(), kRatings, {"--set", "replay.overwrite=true"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Transitions(work()), 100836u);
}

TEST_F(FaultSuite, FailedRunsKeepTheLastGoodReplay) {
  // A malformed row in the middle of a file.
  {
    std::ifstream in(tmp_ / "small.csv");
    std::ofstream out(tmp_ / "bad_row.csv");
    std::string line;
    for (int i = 0; std::getline(in, line); ++i) out << (i == 12000 ? "1,2,oops,3" : line) << "\n";
  }
  BinaryResult r = Ingest(work(), tmp_ / "bad_row.csv", {"--set", "replay.overwrite=true"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("bad_row.csv:12001"), std::string::npos) << r.output;
  ExpectUnchanged();
  EXPECT_GT(Transitions(work()), 0u);  // Learners can still read it.
  // The wrong delimiter for the generic reader.
  r = RunResact({"run", "pipelines/log_ingest.pbtxt", "--workdir", work(), "--progress-interval",
                 "0", "--set", "ingest.path=" + (tmp_ / "small.csv"), "--set",
                 "ingest.delimiter=;", "--set", "replay.overwrite=true"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("small.csv"), std::string::npos) << r.output;
  ExpectUnchanged();
}

TEST_F(FaultSuite, NewerFormatVersionIsRefused) {
  {
    auto store = ReplayStore::Open(work() + "/replay", false);
    ASSERT_TRUE(store.ok()) << store.status();
    ReplayMeta meta = *(*store)->ReadMeta();
    meta.set_format_version(2);
    ASSERT_TRUE((*store)->WriteMeta(meta, true).ok());
    ASSERT_TRUE((*store)->Close().ok());
  }
  before_ = StoreState(work());
  BinaryResult r = Ingest(work(), tmp_ / "small.csv");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("format version 2"), std::string::npos) << r.output;
  ExpectUnchanged();
  auto reader = ReplayReader::Load(work() + "/replay");
  EXPECT_TRUE(absl::IsUnimplemented(reader.status())) << reader.status();
  EXPECT_NE(reader.status().message().find("format_version 2"), std::string::npos);
}

TEST_F(FaultSuite, DamagedSstIsFoundAndRebuilt) {
  BinaryResult r = RunResact({"replay", "verify", work()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("every block checksum is correct"), std::string::npos) << r.output;
  // Overwrite 4 KB in the middle of the largest SST of transitions.
  auto files = ReplayStore::Verify(work() + "/replay", /*record=*/false);
  ASSERT_TRUE(files.ok()) << files.status();
  std::string largest;
  uintmax_t size = 0;
  for (const ReplayFileCheck& f : files->files) {
    if (f.table == "transitions" && f.bytes > size) {
      size = f.bytes;
      largest = f.file;
    }
  }
  ASSERT_GT(size, 16384u);
  {
    std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    const std::string junk(4096, '\x5a');
    f.write(junk.data(), junk.size());
  }
  r = RunResact({"replay", "verify", work()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("DAMAGED " + largest), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("keys user "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 damaged"), std::string::npos) << r.output;
  r = RunResact({"replay", "stats", work()});
  EXPECT_NE(r.output.find("1 DAMAGED"), std::string::npos) << r.output;
  // A writer run with overwrite rebuilds the store; it verifies clean and
  // equals the store before the damage.
  r = Ingest(work(), tmp_ / "small.csv", {"--set", "replay.overwrite=true"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ExpectUnchanged();
  r = RunResact({"replay", "stats", work()});
  EXPECT_NE(r.output.find("never verified"), std::string::npos) << r.output;
  EXPECT_EQ(RunResact({"replay", "verify", work()}).exit_code, 0);
}

TEST_F(FaultSuite, FullDiskIsAClearErrorAndLosesNothing) {
  const std::string mnt = tmp_ / "tmpfs";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=2m") != 0) {
    GTEST_SKIP() << "cannot mount a 2 MB tmpfs here (" << std::strerror(errno)
                 << "); the full-disk case needs root and mount rights";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string work = mnt + "/work";
  WriteRatingsPrefix(tmp_ / "large.csv", 100000);
  BinaryResult r = Ingest(work, tmp_ / "small.csv");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string good = StoreState(work);
  r = Ingest(work, tmp_ / "large.csv", {"--set", "replay.overwrite=true"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.signal, 0) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  EXPECT_EQ(StoreState(work), good);
  EXPECT_FALSE(fs::exists(work + "/replay.staging"));
  // Again with the first file: a clean run (or a clear error), never an abort.
  for (int i = 0; i < 3; ++i) {
    r = Ingest(work, tmp_ / "small.csv");
    EXPECT_EQ(r.signal, 0) << r.output;
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(StoreState(work), good);
  }
}

TEST_F(FaultSuite, ReadOnlyWorkdirIsAClearError) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a command as the user 'nobody'";
  // nobody (65534) owns nothing here: it may read the tree but write nowhere
  // in the workdir.
  fs::permissions(tmp_.path(), fs::perms::others_read | fs::perms::others_exec,
                  fs::perm_options::add);
  for (const auto& e : fs::recursive_directory_iterator(work())) {
    fs::permissions(e.path(), fs::perms::others_read | (e.is_directory() ? fs::perms::others_exec : fs::perms::none),
                    fs::perm_options::add);
  }
  fs::permissions(work(), fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
  BinaryResult probe = RunResact({"stages"}, {}, RESACT_SOURCE_DIR, 65534);
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "the user 'nobody' cannot run the binary here (exit " << probe.exit_code
                 << "): " << probe.output.substr(0, 200);
  }
  BinaryResult r = RunResact({"run", "pipelines/movielens.pbtxt", "--workdir", work(),
                              "--progress-interval", "0", "--set",
                              "ingest.path=" + (tmp_ / "small.csv")},
                             {}, RESACT_SOURCE_DIR, 65534);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.signal, 0) << r.output;
  EXPECT_NE(r.output.find("Permission denied"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(work()), std::string::npos) << r.output;
  ExpectUnchanged();
}

// kill -9 at each fault point of an ingestion that replaces a COMPLETE
// replay by one of another source: afterwards the workdir holds the old
// replay or (once the swap happened) the new one, complete and readable, and
// re-running the same command ends exactly like an uninterrupted run.
TEST_F(FaultSuite, KilledAtEveryIngestFaultPointLosesNothing) {
  WriteRatingsPrefix(tmp_ / "other.csv", 40000);
  const std::string clean = tmp_ / "clean";
  ASSERT_EQ(Ingest(clean, tmp_ / "other.csv").exit_code, 0);
  const std::string expected = StoreState(clean);
  struct Point {
    const char* name;
    bool new_replay_in_place;
  };
  for (const Point p : {Point{"ingest.batch:3", false}, Point{"replay.write", false},
                        Point{"replay.before_swap", false}, Point{"dir.exchanged", true}}) {
    SCOPED_TRACE(p.name);
    const std::vector<std::string> args = {"--set", "replay.overwrite=true", "--fault", p.name};
    BinaryResult r = Ingest(work(), tmp_ / "other.csv", args);
    ASSERT_EQ(r.signal, SIGKILL) << r.output;
    EXPECT_EQ(StoreState(work()), p.new_replay_in_place ? expected : before_);
    EXPECT_GT(Transitions(work()), 0u);
    r = Ingest(work(), tmp_ / "other.csv", {"--set", "replay.overwrite=true"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(StoreState(work()), expected);
    EXPECT_FALSE(fs::exists(work() + "/replay.staging"));
    // Back to the small replay for the next point.
    ASSERT_EQ(Ingest(work(), tmp_ / "small.csv", {"--set", "replay.overwrite=true"}).exit_code, 0);
    ASSERT_EQ(StoreState(work()), before_);
  }
}

}  // namespace
}  // namespace resact
