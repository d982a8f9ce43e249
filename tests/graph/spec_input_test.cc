// Spec loading and --set overrides: C escapes in string values, parse errors
// returned rather than logged, and binary files, directories and missing
// paths reported as such.
#include <string>

#include "gmock/gmock.h"
#include "graph/spec.h"
#include "gtest/gtest.h"
#include "stages/ingest/ingest_options.pb.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

PipelineSpec LogIngestSpec() {
  auto spec = LoadSpec(std::string(RESACT_SOURCE_DIR) + "/pipelines/log_ingest.pbtxt");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

std::string Delimiter(const PipelineSpec& spec) {
  DelimitedLogReaderOptions o;
  EXPECT_TRUE(spec.stage(0).options().UnpackTo(&o));
  return o.delimiter();
}

TEST(SpecOverride, StringValuesTakeCEscapes) {
  PipelineSpec spec = LogIngestSpec();
  ASSERT_EQ(spec.stage(0).name(), "ingest");
  ASSERT_TRUE(ApplyOverride(spec, "ingest.delimiter=\\t").ok());  // backslash, t
  EXPECT_EQ(Delimiter(spec), "\t");
  ASSERT_TRUE(ApplyOverride(spec, "ingest.delimiter=\\\\").ok());  // two backslashes
  EXPECT_EQ(Delimiter(spec), "\\");
  ASSERT_TRUE(ApplyOverride(spec, "ingest.delimiter=;").ok());
  EXPECT_EQ(Delimiter(spec), ";");
  ASSERT_TRUE(ApplyOverride(spec, "ingest.delimiter=\\x7c").ok());
  EXPECT_EQ(Delimiter(spec), "|");
}

TEST(SpecOverride, ABadEscapeNamesTheOption) {
  PipelineSpec spec = LogIngestSpec();
  absl::Status s = ApplyOverride(spec, "ingest.delimiter=\\q");
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("--set 'ingest.delimiter=\\q'"));
  EXPECT_THAT(s.message(), HasSubstr("field 'delimiter': bad escape in '\\q'"));
  EXPECT_EQ(Delimiter(spec), ",");  // Unchanged.
}

TEST(SpecOverride, ABadValueIsReturnedNotLogged) {
  PipelineSpec spec = LogIngestSpec();
  ::testing::internal::CaptureStderr();
  absl::Status s = ApplyOverride(spec, "sessionize.gap_seconds=soon");
  absl::Status e = ApplyOverride(spec, "ingest.timestamp_unit=FORTNIGHTS");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(s.message(), HasSubstr("field 'gap_seconds': cannot parse 'soon', expected double"));
  EXPECT_THAT(e.message(), HasSubstr("field 'timestamp_unit': cannot parse 'FORTNIGHTS', "
                                     "expected one of "));
  EXPECT_THAT(err, Not(HasSubstr("libprotobuf"))) << err;
  EXPECT_EQ(err, "");
}

TEST(SpecLoad, BinaryTextIsNotASpec) {
  const std::string with_nul("name: \"x\"\n\0\x01\x02", 13);
  auto a = ParseSpec(with_nul, "model.bin");
  ASSERT_TRUE(absl::IsInvalidArgument(a.status())) << a.status();
  EXPECT_EQ(a.status().message(),
            "model.bin: not a text-format pipeline spec (binary data at byte 10); expected a "
            ".pbtxt file such as pipelines/quickstart.pbtxt");

  // Invalid UTF-8: a lone continuation byte, a truncated sequence, an
  // overlong form.
  for (const std::string& bad : {std::string("name: \"\x80\""), std::string("name: \"\xE2\x82\""),
                                 std::string("name: \"\xC0\xAF\"")}) {
    auto b = ParseSpec(bad, "x.pbtxt");
    ASSERT_TRUE(absl::IsInvalidArgument(b.status())) << b.status();
    EXPECT_THAT(b.status().message(), HasSubstr("(binary data at byte 7)"));
  }
  // Valid UTF-8 in a comment and a string is text.
  auto ok = ParseSpec("# Größe — ok\nname: \"naïve\"\n", "u.pbtxt");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->name(), "naïve");

  // The same through LoadSpec, from a file.
  testing_util::ScopedTempDir tmp("spec_input");
  const std::string path = tmp / "binary.pb";
  testing_util::WriteWholeFile(path, std::string("\x0a\x03\x66\x6f\x6f\xff\x00", 7));
  auto c = LoadSpec(path);
  ASSERT_TRUE(absl::IsInvalidArgument(c.status())) << c.status();
  EXPECT_THAT(c.status().message(),
              HasSubstr(path + ": not a text-format pipeline spec (binary data at byte "));
}

TEST(SpecLoad, DirectoriesAndMissingFilesAreNamed) {
  testing_util::ScopedTempDir tmp("spec_input_dir");
  const std::string dir = tmp.path();
  auto d = LoadSpec(dir);
  ASSERT_TRUE(absl::IsInvalidArgument(d.status())) << d.status();
  EXPECT_THAT(d.status().message(), HasSubstr("spec '" + dir + "' is a directory; expected a "
                                              ".pbtxt file such as pipelines/quickstart.pbtxt"));
  auto m = LoadSpec(dir + "/no_such_spec.pbtxt");
  ASSERT_TRUE(absl::IsNotFound(m.status())) << m.status();
  EXPECT_THAT(m.status().message(), HasSubstr("cannot read spec file '" + dir +
                                              "/no_such_spec.pbtxt': No such file or directory"));
}

}  // namespace
}  // namespace resact
