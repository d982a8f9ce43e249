// The learner on a real replay store: the Trainer's batches against the
// store's rewards and session ends, the LearnerStage through StageRunner
// (snapshots every eval_every steps and a final one, metrics, checkpoint,
// model directory, resume of a finished run, source mode, errors), saving
// and loading policies, and the reusable configs/algo_*.pbtxt blocks.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/policy/policy_io.h"
#include "stages/learners/policy/torch_policy.h"
#include "stages/learners/training/trainer.h"
#include "storage/replay_reader.h"
#include "tests/replay/replay_test_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using replay_test::SynthBatch;
using replay_test::SynthItems;
using replay_test::SynthOptions;
using replay_test::WriterSpec;
using testing_util::ScopedTempDir;

// Writes a small synthetic replay store (≈ 2 × 20 users) to WORKDIR/replay.
std::string WriteStore(const std::string& workdir) {
  SynthOptions o;
  o.seed = 3;
  auto items = SynthItems(o);
  auto runner = StageRunner::Create(WriterSpec("learner-test"), workdir).value();
  EXPECT_TRUE(runner->Feed<ItemTable>(1, items).ok());
  for (int b = 0; b < 2; ++b) {
    EXPECT_TRUE(runner->Feed<ReplayBatch>(0, SynthBatch(o, b, *items)).ok());
  }
  EXPECT_TRUE(runner->Close().ok());
  return workdir + "/replay";
}

std::string LearnerSpec(const std::string& extra_options, bool with_input = true) {
  return absl::StrCat(
      "name: \"learner\" type: \"LearnerStage\" ",
      with_input ? "input_stream: \"replay\" " : "", "output_stream: \"policies\" ",
      "options { [type.googleapis.com/resact.LearnerOptions] { ", extra_options, " } }");
}

constexpr char kSmall[] =
    "algo: \"td3_bc\" task: BOTH steps: 12 eval_every: 5 "
    "common { hidden: \"32,32\" batch_size: 64 seed: 3 } normalization_samples: 2000";

// Raw states of the first `n` transitions of the store.
std::vector<float> States(const std::string& replay, int n, int* state_dim) {
  ReplayReaderOptions ro;
  ro.split = ReplaySplit::kAll;
  auto reader = ReplayReader::Load(replay, ro).value();
  *state_dim = reader->state_dim();
  std::vector<float> s(static_cast<size_t>(n) * reader->state_dim());
  for (int i = 0; i < n; ++i) reader->FillState(i, &s[static_cast<size_t>(i) * *state_dim]);
  return s;
}

std::vector<float> Act(const Policy& p, const std::vector<float>& states) {
  const int64_t n = static_cast<int64_t>(states.size()) / p.state_dim();
  std::vector<float> a(static_cast<size_t>(n) * p.action_dim());
  const absl::Status s = p.Act(states.data(), n, a.data());
  EXPECT_TRUE(s.ok()) << s;
  return a;
}

int CountLines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

TEST(LearnerReplay, BatchesCarryTheStoresRewardsAndSessionEnds) {
  ScopedTempDir tmp("learn_store");
  const std::string replay = WriteStore(tmp.path());
  auto source = learners::LoadReplaySource(replay, 64).value();
  ReplayReaderOptions ro;
  auto reader = ReplayReader::Load(replay, ro).value();  // Train split, as the learner.
  ASSERT_EQ(source->size(), reader->num_transitions());
  EXPECT_EQ(source->state_dim(), reader->state_dim());
  EXPECT_EQ(source->session_dim(), reader->session_dim());

  std::mt19937_64 rng(5);
  ReplaySample s;
  std::vector<uint8_t> ends;
  source->Sample(512, rng, &s, &ends);
  const auto rt = learners::MakeTensorBatch(s, ends, LearnerOptions::RETURN_TIME, 1.0, 5,
                                            learners::Normalizer());
  const auto both = learners::MakeTensorBatch(s, ends, LearnerOptions::BOTH, 0.5, 5,
                                              learners::Normalizer());
  int session_ends = 0, rewarded = 0;
  for (int i = 0; i < 512; ++i) {
    const uint64_t t = s.transition[i];
    const bool end = reader->last_in_session(t);
    ASSERT_EQ(ends[i], end ? 1 : 0);
    session_ends += end;
    const int r_rt = reader->r_rt(t), r_sl = reader->r_sl(t);
    rewarded += r_rt > 0;
    EXPECT_EQ(rt.reward[i][0].item<float>(), static_cast<float>(r_rt));
    EXPECT_EQ(rt.r_session[i].item<int64_t>(), end ? r_rt : -1);
    EXPECT_EQ(both.reward[i][0].item<float>(), 0.25f * (r_rt + r_sl));
    EXPECT_EQ(both.r_session[i].item<int64_t>(),
              end ? static_cast<int64_t>(std::round(0.5 * (r_rt + r_sl))) : -1);
    EXPECT_EQ(rt.done[i][0].item<float>(), reader->done(t) ? 1.f : 0.f);
  }
  EXPECT_GT(session_ends, 20);
  EXPECT_GT(rewarded, 5);
}

TEST(LearnerReplay, TrainerRunsOnARealStore) {
  ScopedTempDir tmp("learn_trainer");
  const std::string replay = WriteStore(tmp.path());
  LearnerOptions o;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kSmall, &o));
  o.set_steps(30);
  o.set_eval_every(10);
  auto trainer = learners::Trainer::FromReplay(o, replay, tmp / "run");
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  ASSERT_TRUE((*trainer)->Run(30).ok());
  EXPECT_EQ(CountLines(tmp / "run/metrics.jsonl"), 3);
  EXPECT_TRUE(std::filesystem::exists(tmp / "run/checkpoint-latest.pt"));
  // The checkpoint holds each weight once (parameters are views of the
  // optimizers' flat buffers; those must not be written once per view) plus
  // two Adam moments per trained weight.
  int64_t weights = 0, trained = 0;
  for (auto& [name, m] : (*trainer)->algorithm().Modules()) {
    for (const auto& p : m->parameters()) weights += p.numel();
  }
  for (auto& [name, opt] : (*trainer)->algorithm().Optimizers()) {
    for (const auto& p : opt->param_groups()[0].params()) trained += p.numel();
  }
  const auto bytes = std::filesystem::file_size(tmp / "run/checkpoint-latest.pt");
  EXPECT_GT(bytes, 4u * (weights + 2 * trained));
  EXPECT_LT(bytes, 4u * (weights + 2 * trained) + 200000) << weights << " " << trained;
  // Standardized states: the estimate has the store's width and sane stds.
  const auto& n = (*trainer)->normalizer();
  ASSERT_EQ(static_cast<int>(n.std().size()), (*trainer)->context().state_dim);
  for (float sd : n.std()) EXPECT_GT(sd, 0.f);

  const auto missing = learners::Trainer::FromReplay(o, tmp / "nowhere", tmp / "run2");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("td3_bc"), absl::string_view::npos)
      << missing.status();
}

TEST(LearnerStage, EmitsSnapshotsEveryEvalEveryAndAFinalOne) {
  ScopedTempDir tmp("learn_stage");
  const std::string replay = WriteStore(tmp.path());
  auto runner = StageRunner::Create(LearnerSpec(kSmall), tmp.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  auto handle = std::make_shared<ReplayHandle>();
  handle->dir = replay;
  ASSERT_TRUE((*runner)->Feed<ReplayHandle>(0, handle).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  const auto snaps = (*runner)->Outputs<PolicySnapshot>(0);
  ASSERT_EQ(snaps.size(), 3u);
  std::vector<int64_t> steps;
  for (const auto& s : snaps) steps.push_back(s->step);
  EXPECT_EQ(steps, (std::vector<int64_t>{5, 10, 12}));
  EXPECT_FALSE(snaps[0]->final);
  EXPECT_FALSE(snaps[1]->final);
  EXPECT_TRUE(snaps[2]->final);
  const std::string run_dir = tmp / "learners/td3_bc-both-seed3";
  for (const auto& s : snaps) {
    EXPECT_EQ(s->algo, "td3_bc");
    EXPECT_EQ(s->task, "both");
    EXPECT_EQ(s->seed, 3);
    EXPECT_EQ(s->run_dir, run_dir);
  }
  EXPECT_EQ((*runner)->progress().rows(), 12u * 64);

  int state_dim = 0;
  const std::vector<float> states = States(replay, 50, &state_dim);
  const Policy& final_policy = *snaps[2]->policy;
  EXPECT_EQ(final_policy.state_dim(), state_dim);
  EXPECT_EQ(final_policy.action_dim(), 16);
  const std::vector<float> a = Act(final_policy, states);
  for (float x : a) {
    EXPECT_GE(x, -1.f);
    EXPECT_LE(x, 1.f);
  }
  EXPECT_NE(Act(*snaps[0]->policy, states), a);  // Snapshots are frozen copies.

  EXPECT_EQ(CountLines(run_dir + "/metrics.jsonl"), 3);
  EXPECT_TRUE(std::filesystem::exists(run_dir + "/checkpoint-latest.pt"));
  auto loaded = LoadPolicy(run_dir + "/model");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Act(**loaded, states), a);
  auto model = ReadPolicyModel(run_dir + "/model").value();
  EXPECT_EQ(model.algo(), "td3_bc");
  EXPECT_EQ(model.step(), 12);
  EXPECT_EQ(model.state_mean_size(), state_dim);

  // Running the finished run again resumes it: no training, the same final policy.
  auto again = StageRunner::Create(LearnerSpec(kSmall), tmp.path()).value();
  ASSERT_TRUE(again->Feed<ReplayHandle>(0, handle).ok());
  ASSERT_TRUE(again->Close().ok());
  const auto snaps2 = again->Outputs<PolicySnapshot>(0);
  ASSERT_EQ(snaps2.size(), 1u);
  EXPECT_EQ(snaps2[0]->step, 12);
  EXPECT_TRUE(snaps2[0]->final);
  EXPECT_EQ(again->progress().rows(), 0u);
  EXPECT_EQ(Act(*snaps2[0]->policy, states), a);
}

TEST(LearnerStage, SourceModeTrainsOnReplayDir) {
  ScopedTempDir tmp("learn_source");
  WriteStore(tmp.path());
  const std::string spec = LearnerSpec(
      "algo: \"il\" label: \"il_small\" steps: 4 eval_every: 10 replay_dir: \"replay\" "
      "run_dir: \"il_run\" common { hidden: \"16\" batch_size: 32 }",
      /*with_input=*/false);
  auto runner = StageRunner::Create(spec, tmp.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  ASSERT_TRUE((*runner)->Generate().ok());
  ASSERT_TRUE((*runner)->Close().ok());
  const auto snaps = (*runner)->Outputs<PolicySnapshot>(0);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0]->step, 4);
  EXPECT_EQ(snaps[0]->algo, "il_small");  // The label names the rows; algo picks il.
  std::ifstream metrics(tmp / "il_run/metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(metrics, line));
  EXPECT_EQ(line.rfind("{\"algo\":\"il_small\",", 0), 0u) << line;
  EXPECT_EQ(ReadPolicyModel(tmp / "il_run/model").value().algo(), "il");
  EXPECT_TRUE(std::filesystem::exists(tmp / "il_run/model/model.pt"));
}

TEST(LearnerStage, ErrorsNameTheAlgorithmAndOption) {
  ScopedTempDir tmp("learn_errors");
  auto unknown = StageRunner::Create(LearnerSpec("algo: \"nope\""), tmp.path());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("algo"), absl::string_view::npos);
  EXPECT_NE(unknown.status().message().find("td3_bc"), absl::string_view::npos)
      << unknown.status();
  auto bad_hidden =
      StageRunner::Create(LearnerSpec("algo: \"il\" common { hidden: \"x\" }"), tmp.path());
  ASSERT_FALSE(bad_hidden.ok());
  EXPECT_NE(bad_hidden.status().message().find("common.hidden"), absl::string_view::npos);

  auto runner = StageRunner::Create(LearnerSpec(kSmall), tmp.path()).value();
  auto handle = std::make_shared<ReplayHandle>();
  handle->dir = tmp / "no_store";
  const absl::Status s = runner->Feed<ReplayHandle>(0, handle);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("td3_bc"), absl::string_view::npos) << s;
}

TEST(LearnerPolicy, SaveAndLoadRoundTrip) {
  ScopedTempDir tmp("learn_policy");
  const std::string replay = WriteStore(tmp.path());
  LearnerOptions o;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kSmall, &o));
  o.set_algo("il_cvae");
  auto trainer = learners::Trainer::FromReplay(o, replay, "").value();
  ASSERT_TRUE(trainer->Run(5).ok());
  auto policy = trainer->Snapshot().value();
  ASSERT_TRUE(SavePolicy(*policy, tmp / "model").ok());
  auto loaded = LoadPolicy(tmp / "model").value();
  int state_dim = 0;
  const std::vector<float> states = States(replay, 20, &state_dim);
  EXPECT_EQ(Act(*loaded, states), Act(*policy, states));

  std::filesystem::remove(tmp / "model/model.pt");
  EXPECT_FALSE(LoadPolicy(tmp / "model").ok());
  EXPECT_FALSE(LoadPolicy(tmp / "nowhere").ok());
}

// A snapshot of ResAct or BCQ gives the scored candidates its Act picks
// among: the action is the top-scored candidate, exactly; a policy without
// candidates says so.
TEST(LearnerPolicy, ScoredCandidatesAreTheOnesActPicksAmong) {
  ScopedTempDir tmp("learn_candidates");
  const std::string replay = WriteStore(tmp.path());
  int state_dim = 0;
  const std::vector<float> states = States(replay, 20, &state_dim);
  const int64_t n = static_cast<int64_t>(states.size()) / state_dim;
  for (const char* algo : {"resact", "bcq", "il_cvae"}) {
    LearnerOptions o;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kSmall, &o));
    o.set_algo(algo);
    o.mutable_bcq()->set_act_candidates(7);
    auto trainer = learners::Trainer::FromReplay(o, replay, "").value();
    ASSERT_TRUE(trainer->Run(5).ok());
    auto policy = trainer->Snapshot().value();
    const int k = policy->candidates();
    if (std::string(algo) == "il_cvae") {
      EXPECT_EQ(k, 0);
      std::vector<float> a(1), q(1);
      EXPECT_FALSE(policy->ScoredCandidates(states.data(), n, a.data(), q.data()).ok());
      continue;
    }
    EXPECT_EQ(k, std::string(algo) == "resact" ? 10 : 7) << algo;
    const int d = policy->action_dim();
    std::vector<float> cand(n * k * d), score(n * k);
    ASSERT_TRUE(policy->ScoredCandidates(states.data(), n, cand.data(), score.data()).ok());
    const std::vector<float> act = Act(*policy, states);
    for (int64_t i = 0; i < n; ++i) {
      const int best =
          static_cast<int>(std::max_element(score.begin() + i * k, score.begin() + (i + 1) * k) -
                           (score.begin() + i * k));
      for (int c = 0; c < d; ++c) {
        ASSERT_EQ(act[i * d + c], cand[(i * k + best) * d + c]) << algo << " state " << i;
      }
    }
  }
}

// Every configs/algo_*.pbtxt parses as LearnerOptions, names a registered
// algorithm equal to its file name, and writes out method.md's defaults.
TEST(LearnerConfigs, AlgorithmBlocksParseAndUseMethodDefaults) {
  const std::filesystem::path dir = std::filesystem::path(RESACT_SOURCE_DIR) / "configs";
  std::set<std::string> seen;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("algo_", 0) != 0 || entry.path().extension() != ".pbtxt") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    LearnerOptions o;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text.str(), &o)) << name;
    const std::string algo = name.substr(5, name.size() - 5 - 6);
    EXPECT_EQ(o.algo(), algo) << name;
    EXPECT_EQ(learners::AlgorithmRegistry().count(algo), 1u) << name;
    ASSERT_TRUE(o.has_common()) << name;
    EXPECT_TRUE(o.common().has_hidden() && o.common().has_lr() && o.common().has_batch_size() &&
                o.common().has_gamma() && o.common().has_tau())
        << name << ": write the common defaults out";
    EXPECT_EQ(o.common().hidden(), "256,256") << name;
    EXPECT_EQ(o.common().lr(), 3e-4) << name;
    EXPECT_EQ(o.common().batch_size(), 256) << name;
    EXPECT_EQ(o.common().gamma(), 0.99) << name;
    EXPECT_EQ(o.common().tau(), 0.005) << name;
    seen.insert(algo);
  }
  for (const char* algo : {"il", "il_cvae", "ddpg", "td3", "td3_bc"}) {
    EXPECT_TRUE(seen.count(algo)) << "configs/algo_" << algo << ".pbtxt is missing";
  }
}

}  // namespace
}  // namespace resact
