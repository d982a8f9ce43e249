// The training side of the fault suite, against the real binary:
//   - kill -9 at every training fault point (graph/fault.h): a re-run of the
//     same command ends with exactly the model of an uninterrupted run, and
//     metrics.jsonl has every step once;
//   - damaged model weights are refused by `recommend`, never served;
//   - bad `recommend` arguments and a bad --users-file line are usage errors;
//   - a second run on a workdir in use fails, naming the holder.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/dir_lock.h"
#include "gtest/gtest.h"
#include "storage/replay_reader.h"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

namespace fs = std::filesystem;
using testing_util::BinaryResult;
using testing_util::ReadWholeFile;
using testing_util::RunResact;
using testing_util::ScopedTempDir;
using testing_util::WriteWholeFile;

constexpr int kSteps = 300;

class TrainFault : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new ScopedTempDir("train_fault");
    const std::string ratings =
        std::string(RESACT_SHARED_DIR) + "/data/ml-latest-small/ratings.csv";
    BinaryResult r = RunResact({"run", "pipelines/movielens.pbtxt", "--workdir", *tmp_ / "work",
                                "--quiet", "--set", "ingest.path=" + ratings});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  // A training-only spec: IL on the fixture's replay into `run_dir`.
  static std::string WriteTrainSpec(const std::string& run_dir) {
    const std::string path = run_dir + ".pbtxt";
    WriteWholeFile(path, absl::StrCat(R"(name: "train"
stage {
  name: "learner" type: "LearnerStage"
  options { [type.googleapis.com/resact.LearnerOptions] {
    algo: "il" task: RETURN_TIME steps: )", kSteps, R"( eval_every: 100 checkpoint_every: 50
    replay_dir: ")", *tmp_ / "work/replay", R"(" run_dir: ")", run_dir, R"("
    common { seed: 3 }
  } }
}
)"));
    return path;
  }
  static BinaryResult Train(const std::string& run_dir, const std::string& fault = "") {
    std::vector<std::string> args = {"run", WriteTrainSpec(run_dir), "--workdir",
                                     run_dir + ".work", "--quiet"};
    if (!fault.empty()) {
      args.push_back("--fault");
      args.push_back(fault);
    }
    return RunResact(args);
  }
  static std::vector<int64_t> MetricSteps(const std::string& run_dir) {
    std::ifstream in(run_dir + "/metrics.jsonl");
    std::vector<int64_t> steps;
    std::string line;
    while (std::getline(in, line)) {
      const size_t at = line.find("\"step\":");
      if (at != std::string::npos) steps.push_back(std::atoll(line.c_str() + at + 7));
    }
    return steps;
  }
  static ScopedTempDir* tmp_;
};
ScopedTempDir* TrainFault::tmp_ = nullptr;

TEST_F(TrainFault, KilledAtEveryTrainingFaultPointEndsLikeACleanRun) {
  const std::string clean = *tmp_ / "clean";
  BinaryResult r = Train(clean);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string model = ReadWholeFile(clean + "/model/model.pt");
  ASSERT_GT(model.size(), 1000u);
  const std::vector<int64_t> steps = MetricSteps(clean);
  ASSERT_FALSE(steps.empty());
  int index = 0;
  for (const char* fault : {"train.checkpoint:2", "train.step:120", "model.save"}) {
    SCOPED_TRACE(fault);
    const std::string run = *tmp_ / absl::StrCat("run_", index++);
    r = Train(run, fault);
    ASSERT_EQ(r.signal, SIGKILL) << r.output;
    // No half-written model: none, or a complete one from an earlier save.
    if (fs::exists(run + "/model")) {
      EXPECT_TRUE(fs::exists(run + "/model/model.pbtxt"));
    }
    r = Train(run);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(ReadWholeFile(run + "/model/model.pt"), model) << "the resumed model differs";
    EXPECT_EQ(MetricSteps(run), steps) << "metrics.jsonl lost or repeated steps";
    // Nothing of the interrupted save is left beside the model.
    for (const auto& e : fs::directory_iterator(run)) {
      EXPECT_EQ(e.path().filename().string().find("model.saving"), std::string::npos)
          << e.path();
    }
  }
}

TEST_F(TrainFault, DamagedWeightsAreNeverServed) {
  const std::string run = *tmp_ / "served";
  ASSERT_EQ(Train(run).exit_code, 0);
  auto reader = testing_util::LoadRunReplay(*tmp_ / "work");
  ASSERT_TRUE(reader.ok()) << reader.status();
  const std::string user = std::to_string((*reader)->user_id(0));
  const std::vector<std::string> serve = {"recommend", "--model", run + "/model", "--workdir",
                                          *tmp_ / "work", "--user", user};
  BinaryResult good = RunResact(serve);
  ASSERT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("\"items\":["), std::string::npos) << good.output;
  // Zero 20 KB in the middle of model.pt.
  std::string weights = ReadWholeFile(run + "/model/model.pt");
  ASSERT_GT(weights.size(), 40000u);
  std::fill(weights.begin() + weights.size() / 2 - 10240, weights.begin() + weights.size() / 2 + 10240,
            '\0');
  WriteWholeFile(run + "/model/model.pt", weights);
  BinaryResult bad = RunResact(serve);
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("model.pt is damaged"), std::string::npos) << bad.output;
  EXPECT_EQ(bad.output.find("\"items\""), std::string::npos) << bad.output;
  // A damaged checkpoint is refused by a resuming run, not loaded.
  std::string ckpt = ReadWholeFile(run + "/checkpoint-latest.pt");
  ASSERT_GT(ckpt.size(), 1000u);
  ckpt[ckpt.size() / 2] ^= 0x40;
  WriteWholeFile(run + "/checkpoint-latest.pt", ckpt);
  BinaryResult resumed = Train(run);
  EXPECT_EQ(resumed.exit_code, 1) << resumed.output;
  EXPECT_NE(resumed.output.find("checkpoint-latest.pt"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("damaged"), std::string::npos) << resumed.output;
}

TEST_F(TrainFault, BadRecommendArgumentsAreUsageErrors) {
  const std::string run = *tmp_ / "args";
  ASSERT_EQ(Train(run).exit_code, 0);
  const std::vector<std::string> base = {"recommend", "--model", run + "/model", "--workdir",
                                         *tmp_ / "work", "--user", "1"};
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--k", "-1"}, {"--k", "-2147483648"}, {"--k", "0"},
        {"--batch", "0"}, {"--batch", "-3"}, {"--now", "nan"}, {"--now", "-5"}}) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    BinaryResult r = RunResact(args);
    EXPECT_EQ(r.exit_code, 2) << extra[0] << " " << extra[1] << "\n" << r.output;
    EXPECT_EQ(r.signal, 0);
    EXPECT_NE(r.output.find(extra[0]), std::string::npos) << r.output;
  }
  WriteWholeFile(*tmp_ / "users.txt", "1\n# a comment\n\n2\nthree\n4\n");
  BinaryResult r = RunResact({"recommend", "--model", run + "/model", "--workdir", *tmp_ / "work",
                              "--users-file", *tmp_ / "users.txt"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("users.txt:5: expected a user id (an integer), got 'three'"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("\"items\""), std::string::npos) << r.output;
}

TEST_F(TrainFault, ASecondRunOnAWorkdirInUseNamesTheHolder) {
  const std::string run = *tmp_ / "locked";
  auto lock = DirLock::Acquire(run + ".work", "the test holding the lock");
  ASSERT_TRUE(lock.ok()) << lock.status();
  BinaryResult r = Train(run);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(absl::StrCat("in use by another resact process (pid ", ::getpid())),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("the test holding the lock"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(run + "/metrics.jsonl"));
  lock->reset();
  r = Train(run);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace resact
