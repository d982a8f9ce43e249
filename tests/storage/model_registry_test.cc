// The model registry (storage/model_registry.h): versions are numbered and
// copied whole, the champion moves by promotion and rollback, pruning keeps
// what a rollback needs, and a process killed mid-promotion or mid-add
// (resact model ... under RESACT_FAULT) leaves exactly one champion and no
// half version.
#include "storage/model_registry.h"

#include <csignal>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "graph/files.h"
#include "gtest/gtest.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

namespace fs = std::filesystem;

// A policy folder as SavePolicy writes it (the registry copies files; it
// does not read the weights).
std::string MakePolicyFolder(const std::string& root, const std::string& name,
                             const std::string& weights) {
  const fs::path dir = fs::path(root) / name;
  fs::create_directories(dir);
  std::ofstream(dir / "model.pbtxt") << "# A resact policy; weights in model.pt.\nalgo: \"il\"\n"
                                        "state_dim: 4\nstep: 1200\noptions {\n  steps: 9\n}\n";
  std::ofstream(dir / "model.pt") << weights;
  return dir.string();
}

std::string Read(const std::string& path) {
  auto s = ReadFileToString(path);
  return s.ok() ? *s : "<" + std::string(s.status().message()) + ">";
}

class ModelRegistryTest : public ::testing::Test {
 protected:
  testing_util::ScopedTempDir tmp_{"model_registry"};
  std::string work_ = tmp_.path() + "/work";
};

TEST_F(ModelRegistryTest, VersionsAreNumberedAndCopiedWhole) {
  ModelRegistry reg = ModelRegistry::Open(work_);
  auto none = reg.List();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(absl::IsNotFound(reg.Champion().status()));

  const std::string a = MakePolicyFolder(tmp_.path(), "a", "weights-a");
  std::ofstream(tmp_.path() + "/ckpt.pt") << "checkpoint-a";
  ModelVersionInfo info;
  info.set_algo("il");
  info.set_day("2026-11-28");
  auto v1 = reg.AddVersion(a, tmp_.path() + "/ckpt.pt", info);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(*v1, "v0001");
  auto v2 = reg.AddVersion(MakePolicyFolder(tmp_.path(), "b", "weights-b"), "", {});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(*v2, "v0002");
  // The copy is independent of the source.
  fs::remove_all(a);
  EXPECT_EQ(Read(work_ + "/models/v0001/model/model.pt"), "weights-a");
  EXPECT_EQ(Read(work_ + "/models/v0001/checkpoint.pt"), "checkpoint-a");
  EXPECT_FALSE(fs::exists(work_ + "/models/v0002/checkpoint.pt"));
  auto list = reg.List();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].info.version(), "v0001");
  EXPECT_EQ((*list)[0].info.day(), "2026-11-28");
  EXPECT_GT((*list)[0].info.created_unix_seconds(), 0);
  EXPECT_FALSE((*list)[0].champion);
  // Unset in `info`: the algorithm and steps of the folder's model.pbtxt.
  EXPECT_EQ((*list)[1].info.algo(), "il");
  EXPECT_EQ((*list)[1].info.steps(), 1200);

  // Not a policy folder: refused, naming it, and nothing is left behind.
  fs::create_directories(tmp_.path() + "/empty");
  auto bad = reg.AddVersion(tmp_.path() + "/empty", "", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr(tmp_.path() + "/empty"));
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("no model.pbtxt"));
  EXPECT_EQ(reg.List()->size(), 2u);
  EXPECT_EQ(ModelVersionNumber("v0012"), 12);
  EXPECT_EQ(ModelVersionNumber("v12a"), -1);
  EXPECT_EQ(ModelVersionNumber(".staging-v0003"), -1);
}

TEST_F(ModelRegistryTest, PromotionAndRollbackMoveTheChampion) {
  ModelRegistry reg = ModelRegistry::Open(work_);
  for (const char* n : {"a", "b", "c"}) {
    ASSERT_TRUE(reg.AddVersion(MakePolicyFolder(tmp_.path(), n, n), "", {}).ok());
  }
  auto unknown = reg.Promote("v0009", "x");
  EXPECT_TRUE(absl::IsNotFound(unknown)) << unknown;
  EXPECT_THAT(unknown.message(), ::testing::HasSubstr("known: v0001, v0002, v0003"));
  // No champion: nothing to roll back.
  EXPECT_TRUE(absl::IsFailedPrecondition(reg.Rollback().status()));

  ASSERT_TRUE(reg.Promote("v0001", "first model").ok());
  // One promotion: no earlier champion.
  auto early = reg.Rollback();
  EXPECT_TRUE(absl::IsFailedPrecondition(early.status())) << early.status();
  EXPECT_EQ(*reg.Champion(), "v0001");
  ASSERT_TRUE(reg.Promote("v0002", "beat v0001").ok());
  ASSERT_TRUE(reg.Promote("v0003", "beat v0002").ok());
  EXPECT_EQ(*reg.ChampionDir(), work_ + "/models/v0003");
  EXPECT_TRUE((*reg.List())[2].champion);

  auto back = reg.Rollback();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "v0002");
  EXPECT_EQ(*reg.Champion(), "v0002");
  back = reg.Rollback();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "v0001");
  EXPECT_TRUE(absl::IsFailedPrecondition(reg.Rollback().status()));
  // The history keeps every promotion, the undone ones marked.
  auto state = reg.State();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->promotion_size(), 3);
  EXPECT_FALSE(state->promotion(0).rolled_back());
  EXPECT_TRUE(state->promotion(1).rolled_back());
  EXPECT_TRUE(state->promotion(2).rolled_back());
  EXPECT_EQ(state->promotion(1).reason(), "beat v0001");
  // A new promotion after rollbacks; rolling it back returns to v0001.
  ASSERT_TRUE(reg.Promote("v0003", "manual").ok());
  EXPECT_EQ(*reg.Rollback(), "v0001");
}

TEST_F(ModelRegistryTest, PruneKeepsTheNewestTheChampionAndTheRollbackTarget) {
  ModelRegistry reg = ModelRegistry::Open(work_);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(reg.AddVersion(MakePolicyFolder(tmp_.path(), "m" + std::to_string(i), "w"), "", {})
                    .ok());
  }
  ASSERT_TRUE(reg.Promote("v0001", "first").ok());
  ASSERT_TRUE(reg.Promote("v0002", "second").ok());
  EXPECT_FALSE(reg.Prune(0).ok());
  auto removed = reg.Prune(2);
  ASSERT_TRUE(removed.ok()) << removed.status();
  // Newest two (v0005, v0006), the champion v0002 and its rollback target v0001.
  EXPECT_THAT(*removed, ::testing::ElementsAre("v0003", "v0004"));
  std::vector<std::string> left;
  auto list = reg.List();
  ASSERT_TRUE(list.ok()) << list.status();
  for (const auto& e : *list) left.push_back(e.info.version());
  EXPECT_THAT(left, ::testing::ElementsAre("v0001", "v0002", "v0005", "v0006"));
  EXPECT_EQ(*reg.Rollback(), "v0001");
}

TEST_F(ModelRegistryTest, CliListsPromotesAndRollsBack) {
  const std::string a = MakePolicyFolder(tmp_.path(), "a", "x");
  auto r = testing_util::RunResact({"model", "add", work_, a, "--note", "from a"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("added v0001"));
  ASSERT_EQ(testing_util::RunResact({"model", "add", work_, a}).exit_code, 0);
  ASSERT_EQ(testing_util::RunResact({"model", "promote", work_, "v0001"}).exit_code, 0);
  ASSERT_EQ(testing_util::RunResact({"model", "promote", work_, "v0002"}).exit_code, 0);
  r = testing_util::RunResact({"model", "list", work_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The algo and step come from model.pbtxt's top level, not its options.
  EXPECT_THAT(r.output, ::testing::HasSubstr("| * | v0002 |"));
  EXPECT_THAT(r.output, ::testing::HasSubstr("| il | 1200 |"));
  EXPECT_THAT(r.output, ::testing::HasSubstr("from a"));
  EXPECT_THAT(r.output, ::testing::HasSubstr("champion: v0002 (2 promotions)"));
  r = testing_util::RunResact({"model", "rollback", work_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("champion: v0001"));
  r = testing_util::RunResact({"model", "promote", work_, "v0042"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("no version 'v0042' (known: v0001, v0002)"));
}

// Killed after the new CHAMPION is durable but before it replaces the old
// one: the old champion stays, whole; the next promotion goes through.
TEST_F(ModelRegistryTest, CrashMidPromotionLeavesExactlyOneChampion) {
  const std::string a = MakePolicyFolder(tmp_.path(), "a", "x");
  ModelRegistry reg = ModelRegistry::Open(work_);
  ASSERT_TRUE(reg.AddVersion(a, "", {}).ok());
  ASSERT_TRUE(reg.AddVersion(a, "", {}).ok());
  ASSERT_TRUE(reg.Promote("v0001", "first").ok());
  auto r = testing_util::RunResact({"model", "promote", work_, "v0002"},
                                   {{"RESACT_FAULT", "model.promote"}});
  EXPECT_EQ(r.signal, SIGKILL) << r.output;
  EXPECT_EQ(*reg.Champion(), "v0001");
  EXPECT_EQ(reg.State()->promotion_size(), 1);
  ASSERT_TRUE(reg.Promote("v0002", "again").ok());
  EXPECT_EQ(*reg.Champion(), "v0002");
  EXPECT_EQ(reg.State()->promotion_size(), 2);
}

// Killed with a version staged but not in place: no version appears, and
// the next add takes the same number and removes the staging folder.
TEST_F(ModelRegistryTest, CrashMidAddLeavesNoHalfVersion) {
  const std::string a = MakePolicyFolder(tmp_.path(), "a", "x");
  auto r = testing_util::RunResact({"model", "add", work_, a}, {{"RESACT_FAULT", "model.add"}});
  EXPECT_EQ(r.signal, SIGKILL) << r.output;
  ModelRegistry reg = ModelRegistry::Open(work_);
  EXPECT_TRUE(reg.List()->empty());
  EXPECT_TRUE(fs::exists(work_ + "/models/.staging-v0001"));
  auto v = reg.AddVersion(a, "", {});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "v0001");
  EXPECT_FALSE(fs::exists(work_ + "/models/.staging-v0001"));
  EXPECT_EQ(Read(work_ + "/models/v0001/model/model.pt"), "x");
}

}  // namespace
}  // namespace resact
