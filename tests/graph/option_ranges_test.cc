// Range checks of numeric options (graph/option_ranges.h): every numeric
// option of every registered stage has a range its default lies in, values
// outside it (and NaN) are rejected by BuildGraph and StageRunner with the
// stage, the option's path and its range, and the interval parser.
#include "graph/option_ranges.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/graph_builder.h"
#include "graph/option_range.pb.h"
#include "graph/spec.h"
#include "graph/stage_runner.h"
#include "gtest/gtest.h"
#include "tests/graph/option_ranges_test.pb.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using testing_util::RunResactShell;

namespace pb = google::protobuf;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Every numeric option is annotated, and its default is inside its range.

long double DefaultOf(const pb::FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: return f->default_value_int32();
    case pb::FieldDescriptor::CPPTYPE_INT64: return f->default_value_int64();
    case pb::FieldDescriptor::CPPTYPE_UINT32: return f->default_value_uint32();
    case pb::FieldDescriptor::CPPTYPE_UINT64: return f->default_value_uint64();
    case pb::FieldDescriptor::CPPTYPE_FLOAT: return f->default_value_float();
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: return f->default_value_double();
    default: return std::nanl("");
  }
}

// Checks the numeric fields of `d` and, recursively, of its sub-messages;
// returns how many numeric fields it saw.
int ExpectAnnotated(const pb::Descriptor* d, const std::string& where,
                    std::vector<const pb::Descriptor*>& open) {
  int numeric = 0;
  open.push_back(d);
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string path = where + "." + f->name();
    const pb::Descriptor* sub = f->message_type();
    if (sub != nullptr) {
      if (sub->full_name().rfind("google.protobuf.", 0) != 0 &&
          std::find(open.begin(), open.end(), sub) == open.end()) {
        numeric += ExpectAnnotated(sub, path, open);
      }
      continue;
    }
    if (!IsNumericField(f)) continue;
    ++numeric;
    if (!f->options().HasExtension(resact::range)) {
      ADD_FAILURE() << path << " (" << f->full_name() << ") has no (resact.range)";
      continue;
    }
    auto range = FieldRange(f);
    if (!range.ok() || !range->has_value()) {
      ADD_FAILURE() << path << ": " << range.status();
      continue;
    }
    if (!f->is_repeated()) {
      EXPECT_TRUE((*range)->Contains(DefaultOf(f)))
          << path << ": default " << static_cast<double>(DefaultOf(f)) << " is outside "
          << (*range)->text;
    }
  }
  open.pop_back();
  return numeric;
}

TEST(OptionRanges, EveryNumericOptionOfEveryStageHasARangeHoldingItsDefault) {
  const auto stages = StageRegistry::Global().List();
  ASSERT_FALSE(stages.empty());
  int numeric = 0;
  bool saw_sessionize = false;
  for (const StageRegistration* reg : stages) {
    saw_sessionize |= reg->type == "Sessionize";
    std::vector<const pb::Descriptor*> open;
    numeric += ExpectAnnotated(reg->options_descriptor, reg->type, open);
    // The defaults as a whole pass the runtime check too.
    EXPECT_TRUE(CheckOptionRanges(*reg->options_default).ok())
        << reg->type << ": " << CheckOptionRanges(*reg->options_default);
  }
  EXPECT_TRUE(saw_sessionize);
  EXPECT_GT(numeric, 20);
  std::vector<const pb::Descriptor*> open;
  EXPECT_EQ(ExpectAnnotated(StageSpec::descriptor(), "StageSpec", open), 2);
  EXPECT_EQ(ExpectAnnotated(PipelineSpec::descriptor(), "PipelineSpec", open), 3);
}

// ---------------------------------------------------------------------------
// BuildGraph and StageRunner reject out-of-range values.

PipelineSpec Shipped(const std::string& name) {
  auto spec = LoadSpec(std::string(RESACT_SOURCE_DIR) + "/pipelines/" + name);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : PipelineSpec();
}

absl::Status BuildWith(const std::string& pipeline, const std::string& assignment) {
  PipelineSpec spec = Shipped(pipeline);
  absl::Status set = ApplyOverride(spec, assignment);
  if (!set.ok()) return absl::UnknownError(absl::StrCat("override failed: ", set.message()));
  return BuildGraph(spec).status();
}

TEST(OptionRanges, GapSecondsOutsideItsRangeFailsTheBuild) {
  struct Case {
    const char* value;
    const char* printed;
  } cases[] = {{"inf", "inf"}, {"1e16", "1e+16"}, {"nan", "nan"}, {"-5", "-5"},
               {"-inf", "-inf"}, {"0", "0"}, {"0.5", "0.5"}, {"315360000.5", "315360000.5"}};
  for (const Case& c : cases) {
    absl::Status s = BuildWith("movielens.pbtxt", absl::StrCat("sessionize.gap_seconds=", c.value));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.value << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr("stage 'sessionize' (Sessionize)")) << c.value;
    EXPECT_THAT(s.message(),
                HasSubstr(absl::StrCat("field 'gap_seconds': ", c.printed,
                                       " is outside its range [1, 315360000]")))
        << c.value << ": " << s;
  }
  for (const char* inside : {"1", "3600", "7200.25", "315360000"}) {
    absl::Status s = BuildWith("movielens.pbtxt", absl::StrCat("sessionize.gap_seconds=", inside));
    EXPECT_TRUE(s.ok()) << inside << ": " << s;
  }
}

TEST(OptionRanges, NestedOptionNamesItsDottedPath) {
  absl::Status s = BuildWith("recl_sim.pbtxt", "simulate.sim.days=-1");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("stage 'simulate' (SimulatorLogSource): options: "
                                     "field 'sim.days': -1 is outside its range (0, 36500]"));
  s = BuildWith("recl_sim.pbtxt", "simulate.sim.start_ts=-1");
  EXPECT_THAT(s.message(), HasSubstr("field 'sim.start_ts': -1 is outside its range"));
  EXPECT_TRUE(BuildWith("recl_sim.pbtxt", "simulate.sim.days=2").ok());
}

TEST(OptionRanges, StageAndPipelineFieldsAreChecked) {
  absl::Status s = BuildWith("movielens.pbtxt", "sessionize.concurrency=-1");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("stage 'sessionize' (Sessionize): field 'concurrency': -1 "
                                     "is outside its range [0, 1024]"));
  s = BuildWith("movielens.pbtxt", "ingest.max_in_flight=0");
  EXPECT_THAT(s.message(), HasSubstr("stage 'ingest' (MovieLensReader): field 'max_in_flight': 0 "
                                     "is outside its range [1, 65536]"));
  PipelineSpec spec = Shipped("movielens.pbtxt");
  spec.set_num_threads(-2);
  s = BuildGraph(spec).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("spec: field 'num_threads': -2 is outside its range [0, 1024]"));
}

TEST(OptionRanges, StageRunnerChecksRanges) {
  auto r = StageRunner::Create(R"pb(
    name: "sess" type: "Sessionize" input_stream: "r" output_stream: "s"
    options { [type.googleapis.com/resact.SessionizeOptions] { gap_seconds: inf } })pb");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("stage 'sess' (Sessionize): options: field 'gap_seconds': inf is outside "
                        "its range [1, 315360000]"));
}

// `resact validate` exits 2 with the message; `resact stages` prints ranges.

TEST(OptionRanges, CliExitsTwoAndListsRanges) {
  auto r = RunResactShell("validate " + std::string(RESACT_SOURCE_DIR) +
                     "/pipelines/movielens.pbtxt --set sessionize.gap_seconds=inf");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("field 'gap_seconds': inf is outside its range [1, 315360000]"));
  r = RunResactShell("stages");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("gap_seconds (double, default 1800, range [1, 315360000])"));
  EXPECT_THAT(r.output, HasSubstr("test_fraction (double, default 0.2, range [0, 1])"));
  // Sub-messages' fields are listed under their field, with their ranges.
  EXPECT_THAT(r.output, HasSubstr("  days (double, default 14.8, range (0, 36500])"));
}

// ---------------------------------------------------------------------------
// CheckOptionRanges on messages made for it.

using testing::DefaultOutOfRangeOptions;
using testing::MalformedRangeOptions;
using testing::RangeTestOptions;

std::string ErrorOf(const pb::Message& m) { return std::string(CheckOptionRanges(m).message()); }

TEST(OptionRanges, ChecksEffectiveValuesAndPaths) {
  RangeTestOptions o;
  EXPECT_TRUE(CheckOptionRanges(o).ok());
  o.set_ratio(1);
  EXPECT_EQ(CheckOptionRanges(o).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorOf(o), "field 'ratio': 1 is outside its range (0, 1)");
  o.set_ratio(1.0000000000000002);
  EXPECT_EQ(ErrorOf(o), "field 'ratio': 1.0000000000000002 is outside its range (0, 1)");
  o.set_ratio(0.25);
  EXPECT_TRUE(CheckOptionRanges(o).ok());

  // Integers are compared exactly, also where a double would round.
  o.set_big(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(ErrorOf(o),
            "field 'big': 18446744073709551615 is outside its range [0, 18446744073709551614]");
  o.set_big(std::numeric_limits<uint64_t>::max() - 1);
  EXPECT_TRUE(CheckOptionRanges(o).ok());
  o.set_exact(9007199254740996);
  EXPECT_EQ(ErrorOf(o),
            "field 'exact': 9007199254740996 is outside its range [-5, 9007199254740995]");
  o.set_exact(9007199254740995);
  EXPECT_TRUE(CheckOptionRanges(o).ok());
  o.set_exact(-6);
  EXPECT_EQ(ErrorOf(o), "field 'exact': -6 is outside its range [-5, 9007199254740995]");
  o.set_exact(-5);

  // Nested and repeated fields: dotted paths and element indices.
  o.mutable_inner()->set_count(0);
  EXPECT_EQ(ErrorOf(o), "field 'inner.count': 0 is outside its range [1, 10]");
  o.mutable_inner()->set_count(10);
  o.mutable_inner()->add_weights(0.5f);
  o.mutable_inner()->add_weights(1.5f);
  EXPECT_EQ(ErrorOf(o), "field 'inner.weights[1]': 1.5 is outside its range [0, 1]");
  o.mutable_inner()->set_weights(1, 0.1f);
  EXPECT_TRUE(CheckOptionRanges(o).ok());
  o.mutable_inner()->set_weights(0, std::nanf(""));
  EXPECT_EQ(ErrorOf(o), "field 'inner.weights[0]': nan is outside its range [0, 1]");
  o.mutable_inner()->clear_weights();
  o.add_items();
  o.add_items()->set_count(11);
  EXPECT_EQ(ErrorOf(o), "field 'items[1].count': 11 is outside its range [1, 10]");
  o.clear_items();

  // A field without a range still rejects NaN, and nothing else.
  o.set_free(std::numeric_limits<double>::infinity());
  EXPECT_TRUE(CheckOptionRanges(o).ok());
  o.set_free(std::nan(""));
  EXPECT_EQ(CheckOptionRanges(o).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorOf(o), "field 'free': nan is not a number");
}

TEST(OptionRanges, UnsetFieldsAreCheckedAtTheirDefault) {
  DefaultOutOfRangeOptions o;
  EXPECT_EQ(ErrorOf(o), "field 'y': 5 is outside its range [0, 1]");
  o.set_y(1);
  EXPECT_TRUE(CheckOptionRanges(o).ok());
}

TEST(OptionRanges, MalformedRangeIsAnInternalErrorNamingTheField) {
  MalformedRangeOptions o;
  absl::Status s = CheckOptionRanges(o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("resact.testing.MalformedRangeOptions.x"));
  EXPECT_THAT(s.message(), HasSubstr("must end with ']' or ')'"));
}

// ---------------------------------------------------------------------------
// The interval parser.

OptionRange Parse(const std::string& text) {
  auto r = ParseOptionRange(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status();
  return r.ok() ? *r : OptionRange();
}

// An interval as written, the text it keeps, and values inside and outside.
struct RangeCase {
  const char* written;
  const char* kept;
  std::vector<long double> inside, outside;
};

void ExpectRanges(const std::vector<RangeCase>& cases) {
  for (const RangeCase& c : cases) {
    OptionRange r = Parse(c.written);
    EXPECT_EQ(r.text, c.kept);
    for (long double v : c.inside) EXPECT_TRUE(r.Contains(v)) << c.written << " " << v;
    for (long double v : c.outside) EXPECT_FALSE(r.Contains(v)) << c.written << " " << v;
  }
}

TEST(OptionRangeParser, ClosedAndOpenEnds) {
  ExpectRanges({
      {"[0, 1]", "[0, 1]", {0, 1, 0.5}, {-1e-9L, 1.000001L}},
      {"(0, 1)", "(0, 1)", {1e-300L}, {0, 1}},
      {"[0, 1)", "[0, 1)", {0}, {1}},
      {"(0, 1]", "(0, 1]", {1}, {0}},
      {"[-1, 86400]", "[-1, 86400]", {-1, 86400}, {-1.5}},
      {"[2.5, 2.5]", "[2.5, 2.5]", {2.5}, {2.4}},
      // Spaces are allowed; the text is kept as written, trimmed.
      {"  [ 1e3 ,2E3 ]  ", "[ 1e3 ,2E3 ]", {1000, 2000}, {2001}},
  });
}

TEST(OptionRangeParser, InfiniteEndsAreOpen) {
  const long double inf = std::numeric_limits<long double>::infinity();
  ExpectRanges({
      {"(0, inf)", "(0, inf)", {1e300L}, {inf, 0}},
      {"(-inf, +inf)", "(-inf, +inf)", {-1e300L, 0}, {-inf, inf, std::nanl("")}},
      {"(-inf, 0]", "(-inf, 0]", {0, -5}, {1}},
  });
}

TEST(OptionRangeParser, MalformedStringsAreErrors) {
  for (const char* bad : {"", "[", "[]", "0, 1", "[0, 1", "0, 1]", "{0, 1}", "[0 1]", "[0, 1, 2]",
                          "[, 1]", "[0, ]", "[1, 0]", "(1, 1]", "[1, 1)", "(1, 1)", "[0, inf]",
                          "[-inf, 0)", "(inf, 0)", "(0, -inf)", "[a, 1]", "[nan, 1]", "[0, nan]",
                          "[0x10, 20]", "[1e999, 2]", "[1.2.3, 4]", "[0, 1] x", "[0, infinity)"}) {
    auto r = ParseOptionRange(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' parsed";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
      EXPECT_THAT(r.status().message(), HasSubstr("expected an interval")) << bad;
    }
  }
}

}  // namespace
}  // namespace resact
