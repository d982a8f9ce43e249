// Fixtures for the ingest tests: IngestTest, a test with its own temporary
// folder (testing_util::ScopedTempDir, removed after the test) to write small
// logs into, and running a reader stage on them through StageRunner;
// RequestReaderTest adds reading a request log into batches. Also the
// assertions on error messages the reader tests share.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/payload.h"
#include "graph/stage_runner.h"
#include "graph/status.h"
#include "gtest/gtest.h"
#include "tests/util/test_util.h"

namespace resact {
namespace ingest_test {

using Batches = std::vector<std::shared_ptr<const RequestBatch>>;

// The error message of `s` ("OK" when OK).
template <class T>
std::string ErrorOf(const absl::StatusOr<T>& s) {
  return s.ok() ? std::string("OK") : std::string(s.status().message());
}
inline std::string ErrorOf(const absl::Status& s) {
  return s.ok() ? std::string("OK") : std::string(s.message());
}
template <class T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
inline absl::Status StatusOf(const absl::Status& s) { return s; }

// `text` contains `part`: EXPECT_TRUE(Contains(ErrorOf(s), "file.csv:3:")).
inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// `s` failed with `code` and a message containing `part`.
template <class S>
::testing::AssertionResult FailsWith(const S& s, absl::StatusCode code, const std::string& part) {
  const absl::Status status = StatusOf(s);
  if (status.code() != code) {
    return ::testing::AssertionFailure()
           << "status " << status << " is not " << absl::StatusCodeToString(code);
  }
  return Contains(std::string(status.message()), part);
}

// A StageSpec for a reader `type` with options `options_text` (the body of
// the options message, e.g. `path: "x" batch_rows: 2`).
inline std::string ReaderSpec(const std::string& type, const std::string& options_text) {
  return absl::StrCat("name: \"ingest\" type: \"", type,
                      "\" output_stream: \"requests\" options { "
                      "[type.googleapis.com/resact.",
                      type, "Options] { ", options_text, " } }");
}

// All rows of `batches` in one batch (source: the first batch's).
inline RequestBatch Concat(const Batches& batches) {
  RequestBatch all;
  for (const auto& b : batches) {
    all.user.insert(all.user.end(), b->user.begin(), b->user.end());
    all.item.insert(all.item.end(), b->item.begin(), b->item.end());
    all.ts_ms.insert(all.ts_ms.end(), b->ts_ms.begin(), b->ts_ms.end());
    all.feedback.insert(all.feedback.end(), b->feedback.begin(), b->feedback.end());
    all.session_id.insert(all.session_id.end(), b->session_id.begin(), b->session_id.end());
    all.behaviour_logprob.insert(all.behaviour_logprob.end(), b->behaviour_logprob.begin(),
                                 b->behaviour_logprob.end());
    all.extra.insert(all.extra.end(), b->extra.begin(), b->extra.end());
    all.num_extra = b->num_extra;
    if (all.source.empty()) all.source = b->source;
  }
  return all;
}

// Rows per batch.
inline std::vector<size_t> BatchSizes(const Batches& batches) {
  std::vector<size_t> sizes;
  for (const auto& b : batches) sizes.push_back(b->size());
  return sizes;
}

// The rows a request-log reader should read, column by column (empty: the
// column is not filled; extra row-major, num_extra per row).
struct ExpectedRows {
  std::vector<int64_t> user, item, ts_ms;
  std::vector<float> feedback;
  std::vector<int64_t> session;
  std::vector<float> behaviour_logprob, extra;
  int num_extra = 0;
};

// `batches` is one batch from `source` holding exactly `rows`.
inline void ExpectOneBatch(const Batches& batches, const std::string& source,
                           const ExpectedRows& rows) {
  ASSERT_EQ(batches.size(), 1u);
  const RequestBatch& b = *batches[0];
  EXPECT_EQ(b.user, rows.user);
  EXPECT_EQ(b.item, rows.item);
  EXPECT_EQ(b.ts_ms, rows.ts_ms);
  EXPECT_EQ(b.feedback, rows.feedback);
  EXPECT_EQ(b.session_id, rows.session);
  EXPECT_EQ(b.behaviour_logprob, rows.behaviour_logprob);
  EXPECT_EQ(b.extra, rows.extra);
  EXPECT_EQ(b.num_extra, rows.num_extra);
  EXPECT_EQ(b.source, source);
}

// The current test's name, for its temporary folder.
inline std::string TestTag() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info != nullptr ? absl::StrCat(info->test_suite_name(), "_", info->name())
                                     : std::string("ingest");
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  return name;
}

// A test of the reader stage `type` with a fresh temporary folder.
class IngestTest : public ::testing::Test {
 protected:
  explicit IngestTest(std::string type = "") : type_(std::move(type)), tmp_(TestTag()) {}

  std::string Path(const std::string& relative) const { return tmp_ / relative; }
  // Writes `content` byte for byte to `relative` (folders are created);
  // returns the full path.
  std::string Write(const std::string& relative, const std::string& content) const {
    const std::string full = Path(relative);
    std::filesystem::create_directories(std::filesystem::path(full).parent_path());
    testing_util::WriteWholeFile(full, content);
    return full;
  }
  // Writes each {relative path, content}.
  void WriteFiles(const std::vector<std::pair<std::string, std::string>>& files) const {
    for (const auto& [relative, content] : files) Write(relative, content);
  }

  // The stage with options `options_text`, configured and opened, its
  // workdir Path("work").
  absl::StatusOr<std::unique_ptr<StageRunner>> Create(const std::string& options_text) const {
    return StageRunner::Create(ReaderSpec(type_, options_text), Path("work"));
  }
  // Create(), then Generate() and Close(): the runner holding the outputs.
  absl::StatusOr<std::unique_ptr<StageRunner>> Run(const std::string& options_text) const {
    ASSIGN_OR_RETURN(auto runner, Create(options_text));
    RETURN_IF_ERROR(runner->Generate());
    RETURN_IF_ERROR(runner->Close());
    return runner;
  }

  // The stage of `runner`, as its type.
  template <class S>
  static const S& StageOf(StageRunner& runner) {
    return static_cast<const S&>(runner.stage());
  }

  const std::string type_;
  testing_util::ScopedTempDir tmp_;
};

// A test of a request-log reader (MovieLensReader, DelimitedLogReader).
class RequestReaderTest : public IngestTest {
 protected:
  using IngestTest::IngestTest;

  // Options for `path`, then `more`. The tests parse hand-made timestamps
  // (0, 100, ...), so these open the plausible-time window to its widest;
  // Window() keeps the default window.
  static std::string Opts(const std::string& path, const std::string& more = "") {
    return absl::StrCat("path: \"", path, "\" min_timestamp: 0 max_timestamp: 253402300799 ", more);
  }
  static std::string Window(const std::string& path, const std::string& more = "") {
    return absl::StrCat("path: \"", path, "\" ", more);
  }

  // The batches the reader emits with `options_text`.
  absl::StatusOr<Batches> ReadOptions(const std::string& options_text) const {
    ASSIGN_OR_RETURN(auto runner, Run(options_text));
    return runner->Outputs<RequestBatch>(0);
  }
  // The batches the reader emits with Opts(path, more).
  absl::StatusOr<Batches> Read(const std::string& path, const std::string& more = "") const {
    return ReadOptions(Opts(path, more));
  }

  // One file for the reader: its name, content and options, and the rows
  // it must give.
  struct RowsCase {
    std::string file, content, options;
    ExpectedRows rows;
  };
  // Writes the file, reads it with Opts(file, options) and checks the rows
  // (ExpectOneBatch).
  void ExpectReads(const RowsCase& c) const {
    SCOPED_TRACE(c.file);
    const std::string file = Write(c.file, c.content);
    auto batches = Read(file, c.options);
    ASSERT_TRUE(batches.ok()) << batches.status();
    ExpectOneBatch(*batches, file, c.rows);
  }
};

}  // namespace ingest_test
}  // namespace resact
