// The `resact` binary's messages: unknown commands, --set escapes and bad
// values, binary or directory specs, an incomplete replay for recommend, and
// plain progress output (and none with --quiet).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/replay.pb.h"
#include "storage/replay_store.h"
#include "tests/replay/replay_test_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Result {
  int exit_code = -1;
  std::string out, err;
};

using testing_util::ReadWholeFile;
using testing_util::ScopedTempDir;

// Runs `resact ARGS` with stdout and stderr captured separately; stdin is
// /dev/null and neither stream is a terminal.
Result Resact(const std::string& args) {
  ScopedTempDir dir("cli_messages_out");
  const std::string out = dir / "stdout", err = dir / "stderr";
  const std::string cmd =
      std::string(RESACT_BINARY) + " " + args + " </dev/null >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadWholeFile(out);
  r.err = ReadWholeFile(err);
  return r;
}

const std::string kCommands = "run, validate, stages, replay, bench, recommend, report, model, history";

TEST(CliMessages, UnknownCommandsAreNamedWithTheKnownOnes) {
  for (const std::string args : {"serve --help", "serve", "serve run"}) {
    Result r = Resact(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_EQ(r.err, "error: unknown command 'serve'; commands: " + kCommands + "\n") << args;
    EXPECT_EQ(r.out, "") << args;
  }
  Result b = Resact("bench foo --help");
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_EQ(b.err, "error: unknown command 'bench foo'; bench commands: ingest, sim, "
                   "daily, sim-oracles, sample, gen-log, train\n");
  Result p = Resact("replay foo");
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_EQ(p.err, "error: unknown command 'replay foo'; replay commands: stats, verify\n");
  Result m = Resact("model foo");
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_EQ(m.err,
            "error: unknown command 'model foo'; model commands: list, add, promote, rollback\n");

  // Help still works, and known commands still parse their own arguments.
  for (const std::string args : {"--help", "run --help", "bench --help", "replay stats --help"}) {
    Result h = Resact(args);
    EXPECT_EQ(h.exit_code, 0) << args << h.err;
    EXPECT_THAT(h.out, HasSubstr("Usage")) << args;
  }
  EXPECT_THAT(Resact("--help").out, HasSubstr("recommend"));
  EXPECT_THAT(Resact("run --help").out, HasSubstr("--quiet"));
  EXPECT_THAT(Resact("run --help").out, HasSubstr("C escapes"));
  EXPECT_EQ(Resact("").exit_code, 2);
}

TEST(CliMessages, ABadSetValueHasNoProtobufLogLine) {
  const std::string spec = std::string(RESACT_SOURCE_DIR) + "/pipelines/log_ingest.pbtxt";
  Result r = Resact("validate " + spec + " --set sessionize.gap_seconds=soon");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("field 'gap_seconds': cannot parse 'soon', expected double"));
  EXPECT_THAT(r.err, Not(HasSubstr("libprotobuf"))) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  Result e = Resact("validate " + spec + " --set 'ingest.delimiter=\\q'");
  EXPECT_EQ(e.exit_code, 2);
  EXPECT_THAT(e.err, HasSubstr("--set 'ingest.delimiter=\\q'"));
  EXPECT_THAT(e.err, HasSubstr("bad escape"));
}

TEST(CliMessages, BinaryAndDirectorySpecsAreNamed) {
  ScopedTempDir tmp("cli_messages_spec");
  const std::string bin = tmp / "spec.bin";
  testing_util::WriteWholeFile(bin, std::string("name\x00\x01\x02", 7));
  Result r = Resact("run " + bin);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + bin +
                       ": not a text-format pipeline spec (binary data at byte 4); expected a "
                       ".pbtxt file such as pipelines/quickstart.pbtxt\n");
  Result d = Resact("validate " + tmp.path());
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_THAT(d.err, HasSubstr("is a directory; expected a .pbtxt file"));
}

TEST(CliMessages, RecommendRefusesAnIncompleteReplay) {
  ScopedTempDir tmp("cli_messages_writing");
  const std::filesystem::path workdir = tmp.path();
  const auto dir = workdir / "replay";
  absl::Status written = replay_test::WriteUnfinishedStore(dir.string());
  ASSERT_TRUE(written.ok()) << written;
  Result r = Resact("recommend --model " + (workdir / "model").string() + " --workdir " +
                    workdir.string() + " --user 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("error: replay " + dir.string() +
                               " is incomplete (state WRITING: a run that wrote it did not "
                               "finish); re-run the pipeline that writes it"));
}

// The tiny log with tabs between fields, as `path`.
std::string TabSeparatedTinyLog(const std::string& path) {
  std::string tsv = ReadWholeFile(std::string(RESACT_SOURCE_DIR) + "/tests/testdata/tiny_log.csv");
  std::replace(tsv.begin(), tsv.end(), ',', '\t');
  testing_util::WriteWholeFile(path, tsv);
  return path;
}

TEST(CliMessages, RunReadsATabDelimitedLogAndPrintsPlainProgress) {
  const std::string spec = std::string(RESACT_SOURCE_DIR) + "/pipelines/log_ingest.pbtxt";
  ScopedTempDir tmp("cli_messages_run");
  const std::string workdir = tmp / "work";
  const std::string common = "run " + spec + " --set ingest.path=" + TabSeparatedTinyLog(tmp / "tiny.tsv") +
                             " --set 'ingest.delimiter=\\t' --set sessionize.test_fraction=0"
                             " --set embed.dim=4 --set replay.overwrite=true --workdir " + workdir;
  Result r = Resact(common);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("pipeline log_ingest finished"));
  // The per-stage summary: plain lines, one per stage, no log prefix.
  int done_lines = 0;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("] done: ") != std::string::npos) {
      ++done_lines;
      EXPECT_THAT(line, StartsWith("[")) << line;
    }
    if (line.find("progress  ") != std::string::npos) {
      EXPECT_THAT(line, StartsWith("progress  ")) << line;
    }
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  }
  EXPECT_THAT(r.err, HasSubstr("[ingest] done: 16 rows"));
  EXPECT_GE(done_lines, 5) << r.err;

  Result q = Resact(common + " --quiet");
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_THAT(q.out, HasSubstr("pipeline log_ingest finished"));
  EXPECT_THAT(q.err, Not(HasSubstr("done: ")));
  EXPECT_THAT(q.err, Not(HasSubstr("progress  ")));
}

}  // namespace
}  // namespace resact
