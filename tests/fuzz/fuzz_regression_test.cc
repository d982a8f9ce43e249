// Runs every fuzz target's entry function (tests/fuzz/fuzz_targets.h) over
// every file of its seed corpus tests/fuzz/corpus/TARGET/ and of the inputs
// that once crashed it, tests/fuzz/regressions/TARGET/. A crash, abort or
// sanitizer report fails the test binary; each target must return 0.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "glog/logging.h"
#include "gtest/gtest.h"
#include "tests/fuzz/fuzz_targets.h"

namespace resact {
namespace fuzz {
namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;
  int (*fn)(const uint8_t*, size_t);
};

std::vector<std::string> InputsOf(const std::string& target, const char* kind) {
  const fs::path dir = fs::path(RESACT_SOURCE_DIR) / "tests/fuzz" / kind / target;
  std::vector<std::string> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class FuzzRegression : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzRegression, CorpusAndRegressionsRunCleanly) {
  const int old_minloglevel = FLAGS_minloglevel;
  const bool old_logtostderr = FLAGS_logtostderr;
  QuietLogging();
  const Target& t = GetParam();
  const std::vector<std::string> corpus = InputsOf(t.name, "corpus");
  EXPECT_FALSE(corpus.empty()) << "no seed corpus in tests/fuzz/corpus/" << t.name;
  std::vector<std::string> files = corpus;
  for (const std::string& f : InputsOf(t.name, "regressions")) files.push_back(f);
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << "cannot open " << path;
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(t.fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
  }
  FLAGS_minloglevel = old_minloglevel;
  FLAGS_logtostderr = old_logtostderr;
}

#ifdef RESACT_FUZZ_MODEL_LOAD
// The real weights of the target's saved policy load; damaged copies of them
// (cut short, a byte flipped) are refused by the checksum, or, with their own
// checksum recorded, by LibTorch, without crashing.
TEST(FuzzRegression, ModelLoadOnRealAndDamagedWeights) {
  const std::string& real = SavedModelWeights();
  ASSERT_FALSE(real.empty());
  std::vector<std::string> inputs = {real, real.substr(0, real.size() / 2),
                                     real.substr(0, real.size() - 1)};
  for (size_t at : {size_t{0}, real.size() / 3, real.size() - 1}) {
    std::string flipped = real;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x5a);
    inputs.push_back(flipped);
  }
  // The first byte picks the mode: 0 keeps the real checksum in model.pbtxt
  // (damaged copies are refused), 1 records each input's own checksum (they
  // reach LibTorch).
  for (const char mode : {'\0', '\1'}) {
    for (const std::string& weights : inputs) {
      const std::string bytes = std::string(1, mode) + weights;
      EXPECT_EQ(FuzzModelLoad(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    }
  }
}
#endif

const Target kTargets[] = {
    {"fuzz_spec", FuzzSpec},
    {"fuzz_movielens_reader", FuzzMovieLensReader},
    {"fuzz_delimited_reader", FuzzDelimitedReader},
    {"fuzz_user_feature_reader", FuzzUserFeatureReader},
    {"fuzz_replay_decode", FuzzReplayDecode},
    {"fuzz_checksum_frame", FuzzChecksumFrame},
#ifdef RESACT_FUZZ_MODEL_LOAD
    {"fuzz_model_load", FuzzModelLoad},
#endif
};

INSTANTIATE_TEST_SUITE_P(Targets, FuzzRegression, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<Target>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace fuzz
}  // namespace resact
