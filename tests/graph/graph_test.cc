#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "graph/runner.h"
#include "graph/spec.h"
#include "gtest/gtest.h"
#include "tests/graph/test_stages.h"
#include "tests/graph/test_stages.pb.h"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using ::testing::HasSubstr;

// Runs the spec `text` in a temporary workdir, removed afterwards.
absl::StatusOr<RunSummary> RunText(const std::string& text, const std::string& name) {
  ASSIGN_OR_RETURN(PipelineSpec spec, ParseSpec(text));
  testing_util::ScopedTempDir workdir("graph_" + name);
  return testing_util::BuildAndRun(spec, workdir.path());
}

absl::Status Validate(const std::string& text) {
  ASSIGN_OR_RETURN(PipelineSpec spec, ParseSpec(text));
  return BuildGraph(spec).status();
}

constexpr char kChain[] = R"pb(
  name: "chain"
  stage { name: "src" type: "TestSource" output_stream: "a"
          options { [type.googleapis.com/resact.testing.TestSourceOptions] { batches: 50 rows: 1000 } } }
  stage { name: "pass" type: "TestPass" input_stream: "a" output_stream: "b" concurrency: 2 }
  stage { name: "sink" type: "TestSink" input_stream: "b" }
)pb";

TEST(GraphRun, EveryRowReachesTheSink) {
  testing::Counters().Reset();
  auto summary = RunText(kChain, "chain");
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(testing::Counters().sink_rows["sink"], 50000u);
  EXPECT_EQ(summary->rows.size(), 3u);
}

TEST(GraphRun, FanOutDeliversToEveryConsumer) {
  testing::Counters().Reset();
  auto summary = RunText(R"pb(
    stage { name: "src" type: "TestSource" output_stream: "a" }
    stage { name: "s1" type: "TestSink" input_stream: "a" }
    stage { name: "s2" type: "TestSink" input_stream: "a" }
  )pb", "fanout");
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(testing::Counters().sink_rows["s1"], 1000u);
  EXPECT_EQ(testing::Counters().sink_rows["s2"], 1000u);
}

TEST(GraphRun, FailureMidStreamReturnsTheStagesErrorWithoutHanging) {
  testing::Counters().Reset();
  auto summary = RunText(R"pb(
    stage { name: "src" type: "TestSource" output_stream: "a" max_in_flight: 2
            options { [type.googleapis.com/resact.testing.TestSourceOptions] { batches: 100000 rows: 10 } } }
    stage { name: "breaker" type: "TestPass" input_stream: "a" output_stream: "b"
            options { [type.googleapis.com/resact.testing.TestPassOptions] { fail_at: 20 } } }
    stage { name: "sink" type: "TestSink" input_stream: "b" }
  )pb", "fail");
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(summary.status().message(), HasSubstr("stage 'breaker' (TestPass)"));
  EXPECT_THAT(summary.status().message(), HasSubstr("planted failure at packet 20"));
  // The source stopped long before its 100000 batches.
  EXPECT_LT(testing::Counters().sink_rows["sink"], 100000u * 10u);
}

TEST(GraphRun, InFlightPacketsAreBounded) {
  testing::Counters().Reset();
  auto summary = RunText(R"pb(
    stage { name: "src" type: "TestSource" output_stream: "a" max_in_flight: 3
            options { [type.googleapis.com/resact.testing.TestSourceOptions] { batches: 200 rows: 10 } } }
    stage { name: "sink" type: "TestSink" input_stream: "a"
            options { [type.googleapis.com/resact.testing.TestPassOptions] { sleep_us: 200 } } }
  )pb", "bounded");
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(testing::Counters().sink_rows["sink"], 2000u);
  // Bound: 3 in flight, plus the batch the source has built and waits to
  // emit (a packet frees its payload before its token), plus one to spare.
  EXPECT_LE(testing::Counters().max_live_payloads.load(), 5);
  EXPECT_GE(testing::Counters().max_live_payloads.load(), 2);
}

// The progress lines show the stages that work, not those that handled their
// input and wait for their Close(): while the sink works on the one batch,
// the pass stage that handed it over is no longer shown.
TEST(GraphRun, ProgressShowsTheStagesAtWorkOnly) {
  testing::Counters().Reset();
  auto spec = ParseSpec(R"pb(
    name: "progress"
    stage { name: "src" type: "TestSource" output_stream: "a"
            options { [type.googleapis.com/resact.testing.TestSourceOptions] { batches: 1 rows: 10 } } }
    stage { name: "pass" type: "TestPass" input_stream: "a" output_stream: "b" }
    stage { name: "sink" type: "TestSink" input_stream: "b"
            options { [type.googleapis.com/resact.testing.TestPassOptions] { sleep_us: 600000 } } }
  )pb");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto graph = BuildGraph(*spec);
  ASSERT_TRUE(graph.ok()) << graph.status();
  testing_util::ScopedTempDir workdir("graph_progress");
  RunOptions opts;
  opts.workdir = workdir.path();
  opts.progress_interval_s = 0.05;
  ::testing::internal::CaptureStderr();
  auto summary = RunGraph(**graph, opts);
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(summary.ok()) << summary.status();
  std::vector<std::string> lines;
  for (absl::string_view l : absl::StrSplit(err, '\n')) {
    if (absl::StartsWith(l, "progress ")) lines.emplace_back(l);
  }
  ASSERT_GE(lines.size(), 3u) << err;  // The sink sleeps for 12 intervals.
  EXPECT_THAT(lines.back(), HasSubstr("[sink] 10 rows"));
  EXPECT_THAT(lines.back(), ::testing::Not(HasSubstr("[pass]")));
  EXPECT_THAT(err, HasSubstr("[pass] done: 10 rows"));
}

TEST(GraphValidate, UnknownTypeListsKnownTypes) {
  absl::Status s = Validate(R"pb(stage { name: "x" type: "NoSuchStage" })pb");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("stage 'x' (NoSuchStage): field 'type'"));
  EXPECT_THAT(s.message(), HasSubstr("TestSource"));
  EXPECT_THAT(s.message(), HasSubstr("Sessionize"));
}

TEST(GraphValidate, StreamErrorsNameStageAndField) {
  struct Case {
    const char* spec;
    const char* want;
  } cases[] = {
      {R"pb(stage { name: "src" type: "TestSource" output_stream: "a" }
            stage { name: "src2" type: "TestSource" output_stream: "a" }
            stage { name: "sink" type: "TestSink" input_stream: "a" })pb",
       "stage 'src2' (TestSource): field 'output_stream': stream 'a' is already produced by stage 'src'"},
      {R"pb(stage { name: "sink" type: "TestSink" input_stream: "nothing" })pb",
       "stage 'sink' (TestSink): field 'input_stream': stream 'nothing' is not produced by any stage"},
      {R"pb(stage { name: "src" type: "TestSource" output_stream: "a" })pb",
       "stage 'src' (TestSource): field 'output_stream': stream 'a' is not consumed by any stage"},
      {R"pb(stage { name: "src" type: "TestSource" output_stream: "a" }
            stage { name: "sess" type: "Sessionize" input_stream: "a" output_stream: "s" }
            stage { name: "sink" type: "TestSink" input_stream: "s" })pb",
       "stage 'sink' (TestSink): field 'input_stream': stream 's' carries sessions (from stage 'sess') but input 0 expects requests"},
      {R"pb(stage { name: "src" type: "TestSource" output_stream: "a" input_stream: "b" })pb",
       "stage 'src' (TestSource): field 'input_stream': expects 0 stream(s)"},
      {R"pb(stage { name: "src" type: "TestSource" output_stream: "a" }
            stage { name: "sess" type: "Sessionize" input_stream: "a" output_stream: "s"
                    options { [type.googleapis.com/resact.SessionizeOptions] { gap_seconds: -1 } } }
            stage { name: "r" type: "Reward" input_stream: "s" output_stream: "t" })pb",
       "stage 'sess' (Sessionize): options: field 'gap_seconds': -1 is outside its range [1, 315360000]"},
      {R"pb(stage { name: "src" type: "TestSource" output_stream: "a"
                    options { [type.googleapis.com/resact.SessionizeOptions] { gap_seconds: 5 } } })pb",
       "stage 'src' (TestSource): field 'options': expected [type.googleapis.com/resact.testing.TestSourceOptions]"},
      {R"pb(stage { name: "a" type: "TestPass" input_stream: "y" output_stream: "x" }
            stage { name: "b" type: "TestPass" input_stream: "x" output_stream: "y" })pb",
       "cycle through stages: a, b"},
      {R"pb(stage { type: "TestSource" output_stream: "a" })pb",
       "stage #1 (TestSource): field 'name' is required"},
  };
  for (const Case& c : cases) {
    absl::Status s = Validate(c.spec);
    EXPECT_FALSE(s.ok()) << c.spec;
    EXPECT_THAT(s.message(), HasSubstr(c.want)) << c.spec;
  }
}

TEST(GraphValidate, SourceConcurrencyIsLimited) {
  absl::Status s = Validate(R"pb(
    stage { name: "src" type: "TestSource" output_stream: "a" concurrency: 4 }
    stage { name: "sink" type: "TestSink" input_stream: "a" })pb");
  EXPECT_THAT(s.message(), HasSubstr("stage 'src' (TestSource): field 'concurrency'"));
}

TEST(Spec, ParseErrorsNameLineAndColumn) {
  auto spec = ParseSpec("stage {\n  name: \"x\"\n  bogus: 1\n}\n", "my.pbtxt");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("my.pbtxt:3:"));
  EXPECT_THAT(spec.status().message(), HasSubstr("bogus"));
}

TEST(Spec, OverridesSetOptionsAndStageFields) {
  auto spec = ParseSpec(kChain);
  ASSERT_TRUE(spec.ok());
  ASSERT_TRUE(ApplyOverride(*spec, "src.batches=7").ok());
  ASSERT_TRUE(ApplyOverride(*spec, "pass.concurrency=1").ok());
  ASSERT_TRUE(ApplyOverride(*spec, "pass.fail_at=3").ok());
  resact::testing::TestSourceOptions src;
  ASSERT_TRUE(spec->stage(0).options().UnpackTo(&src));
  EXPECT_EQ(src.batches(), 7);
  EXPECT_EQ(src.rows(), 1000);  // Untouched fields keep their value.
  resact::testing::TestPassOptions pass;
  ASSERT_TRUE(spec->stage(1).options().UnpackTo(&pass));
  EXPECT_EQ(pass.fail_at(), 3);
  EXPECT_EQ(spec->stage(1).concurrency(), 1);

  absl::Status s = ApplyOverride(*spec, "nosuch.x=1");
  EXPECT_THAT(s.message(), HasSubstr("no stage named 'nosuch'; stages: src, pass, sink"));
  s = ApplyOverride(*spec, "src.nosuch=1");
  EXPECT_THAT(s.message(), HasSubstr("has no field 'nosuch'; fields: batches, rows"));
  s = ApplyOverride(*spec, "src.batches=many");
  EXPECT_THAT(s.message(), HasSubstr("cannot parse 'many'"));
  s = ApplyOverride(*spec, "src=1");
  EXPECT_THAT(s.message(), HasSubstr("expected STAGE.OPTION=VALUE"));
}

TEST(Registry, DuplicateNamesAreAnError) {
  StageRegistry registry;
  StageRegistration a;
  a.type = "Twice";
  registry.Register(a);
  EXPECT_TRUE(registry.status().ok());
  registry.Register(a);
  EXPECT_EQ(registry.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(registry.status().message(), HasSubstr("Twice"));
  EXPECT_TRUE(StageRegistry::Global().status().ok());
}

}  // namespace
}  // namespace resact
