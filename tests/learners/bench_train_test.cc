// `resact bench train` as a library call: the JSON line it prints, its time
// split, the Chrome trace of --profile, and its errors. Nothing here is
// timed against a target.
#include "cli/bench_train.h"

#include <cmath>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/util/test_util.h"

namespace resact {
namespace {

BenchTrainOptions Small(const std::string& algo) {
  BenchTrainOptions o;
  o.algo = algo;
  o.state_dim = 8;
  o.action_dim = 2;
  o.batch = 16;
  o.steps = 20;
  o.warmup = 2;
  o.threads = 0;
  o.transitions = 500;
  return o;
}

TEST(BenchTrain, PrintsStepsPerSecondAndTheTimeSplit) {
  for (const std::string algo : {"td3_bc", "resact"}) {
    auto line = BenchTrain(Small(algo));
    ASSERT_TRUE(line.ok()) << line.status();
    const auto j = nlohmann::json::parse(*line);
    EXPECT_EQ(j.at("bench"), "train");
    EXPECT_EQ(j.at("algo"), algo);
    EXPECT_EQ(j.at("steps"), 20);
    EXPECT_EQ(j.at("batch"), 16);
    const double ms = j.at("ms_per_step");
    EXPECT_GT(ms, 0);
    // ms_per_step is printed to 0.001 ms, so 1000 / ms is off by up to
    // (1000 / ms) · 0.0005 / ms; steps_per_s is printed to 0.1.
    EXPECT_NEAR(j.at("steps_per_s").get<double>(), 1000.0 / ms,
                1000.0 / ms * (0.0005 / ms + 1e-3) + 0.1);
    double parts = 0;
    for (const char* key : {"ms_sample", "ms_forward_backward", "ms_optimizer"}) {
      const double v = j.at(key);
      EXPECT_TRUE(std::isfinite(v)) << key;
      EXPECT_GE(v, 0) << key;
      parts += v;
    }
    // The split covers parts of the step only.
    EXPECT_LE(parts, ms * 1.001 + 1e-3) << *line;
  }
}

TEST(BenchTrain, ProfileWritesAChromeTraceOfTheSteps) {
  const testing_util::ScopedTempDir tmp("bench_train");
  const std::string path = tmp / "trace.json";
  BenchTrainOptions o = Small("td3_bc");
  o.profile_path = path;
  ASSERT_TRUE(BenchTrain(o).ok());
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  const auto trace = nlohmann::json::parse(in);
  ASSERT_TRUE(trace.is_array());
  int matmuls = 0;
  for (const auto& event : trace) {
    const std::string name = event.value("name", "");
    if (name == "resact::matmul") ++matmuls;
  }
  // Every td3_bc step multiplies matrices forward and backward (MlpPass's
  // products are recorded as resact::matmul).
  EXPECT_GE(matmuls, 20 * 10);
}

TEST(BenchTrain, RejectsBadSizesAndUnknownAlgorithms) {
  BenchTrainOptions o = Small("td3_bc");
  o.steps = 0;
  EXPECT_EQ(BenchTrain(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Small("td3_bc");
  o.batch = -1;
  EXPECT_EQ(BenchTrain(o).status().code(), absl::StatusCode::kInvalidArgument);
  auto unknown = BenchTrain(Small("no_such_algo"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("no_such_algo"), std::string::npos)
      << unknown.status();
}

}  // namespace
}  // namespace resact
