// Tiny versions of the two experiments (2 algorithms, 2 seeds, few steps):
// the shipped specs run end to end and their report files exist, parse, and
// hold finite numbers. Each cell runs as a `resact` process.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "gtest/gtest.h"
#include "graph/spec.h"
#include "nlohmann/json.hpp"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

namespace fs = std::filesystem;

void RunTiny(const std::string& spec_name, const std::vector<std::string>& sets,
             const std::string& workdir, bool simulator) {
  auto spec = LoadSpec(std::string(RESACT_SOURCE_DIR) + "/pipelines/" + spec_name);
  ASSERT_TRUE(spec.ok()) << spec.status();
  for (const std::string& s : sets) ASSERT_TRUE(ApplyOverride(*spec, s).ok()) << s;
  for (const std::string& s :
       {std::string("experiment.algorithms=il,td3_bc"), std::string("experiment.seeds=2"),
        std::string("experiment.steps=60"), std::string("experiment.eval_every=30"),
        std::string("experiment.configs_dir=") + RESACT_SOURCE_DIR + "/configs",
        std::string("experiment.resact_binary=") + RESACT_BINARY,
        std::string("behaviour.steps=50")}) {
    ASSERT_TRUE(ApplyOverride(*spec, s).ok()) << s;
  }
  auto summary = testing_util::BuildAndRun(*spec, workdir);
  ASSERT_TRUE(summary.ok()) << summary.status();

  ASSERT_TRUE(fs::exists(workdir + "/results.md"));
  nlohmann::json j =
      nlohmann::json::parse(testing_util::ReadWholeFile(workdir + "/results.json"), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  int cells = 0;
  for (auto& [task, algos] : j["tasks"].items()) {
    for (const char* algo : {"il", "td3_bc"}) {
      ASSERT_TRUE(algos.contains(algo)) << task << " " << algo;
      const auto& last = algos[algo]["ncis_last"];
      EXPECT_EQ(last["seeds"].get<int>(), 2);
      EXPECT_TRUE(std::isfinite(last["mean"].get<double>()));
      EXPECT_TRUE(std::isfinite(last["ci95"].get<double>()));
      if (simulator) {
        EXPECT_TRUE(std::isfinite(algos[algo]["sim_reward_last"]["mean"].get<double>()));
      }
      ++cells;
    }
  }
  EXPECT_GE(cells, 2);
  ASSERT_FALSE(j["figures"].empty());
  for (const auto& f : j["figures"]) EXPECT_TRUE(fs::exists(f.get<std::string>())) << f;
}

std::string Shell(const std::string& cmd) {
  FILE* pipe = popen((cmd + " 2>/dev/null").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

// Serving from a trained cell's model: top-5 items for two known users and
// a clear per-user error for an unknown one; the same answer twice.
void ExpectServing(const std::string& workdir, int64_t known1, int64_t known2) {
  const std::string cmd = std::string(RESACT_BINARY) + " recommend --model " + workdir +
                          "/experiment/td3_bc-return_time-seed0/model --workdir " + workdir +
                          " --user " + std::to_string(known1) + " --user " +
                          std::to_string(known2) + " --user 99999999 --k 5";
  const std::string out = Shell(cmd);
  std::stringstream lines(out);
  std::string line;
  int served = 0, unknown = 0;
  while (std::getline(lines, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    if (j.contains("items")) {
      EXPECT_EQ(j["items"].size(), 5u);
      ++served;
    } else if (j.contains("error")) {
      EXPECT_EQ(j["user"].get<int64_t>(), 99999999);
      ++unknown;
    } else {
      EXPECT_EQ(j["bench"], "recommend");
      EXPECT_GT(j["ms_per_user"].get<double>(), 0);
    }
  }
  EXPECT_EQ(served, 2) << out;
  EXPECT_EQ(unknown, 1) << out;
  EXPECT_EQ(Shell(cmd).substr(0, out.find("{\"bench\"")), out.substr(0, out.find("{\"bench\"")));
}

TEST(ExperimentEndToEnd, TinyMovieLensExperimentThenServing) {
  testing_util::ScopedTempDir workdir("exp_ml");
  RunTiny("exp_movielens.pbtxt",
          {std::string("ingest.path=") + RESACT_SHARED_DIR + "/data/ml-latest-small/ratings.csv"},
          workdir.path(), false);
  ExpectServing(workdir.path(), 1, 610);
}

TEST(ExperimentEndToEnd, TinySimulatorExperiment) {
  testing_util::ScopedTempDir workdir("exp_sim");
  RunTiny("exp_recl_sim.pbtxt",
          {"simulate.sim.scale=0.003", "experiment.tasks=RETURN_TIME",
           "experiment.simulator_eval.users=40", "experiment.simulator_eval.days=3"},
          workdir.path(), true);
  // The simulated users' states carry their profiles (static user features):
  // serving reads them back from the replay.
  ExpectServing(workdir.path(), 1, 2);
}

}  // namespace
}  // namespace resact
