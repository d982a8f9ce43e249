// Helpers for the ingest tests: a temporary folder to write small logs into,
// and running a reader stage through StageRunner.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/payload.h"
#include "graph/stage_runner.h"
#include "gtest/gtest.h"

namespace resact {
namespace ingest_test {

// A fresh folder under ::testing::TempDir(), removed with its contents.
class TempFolder {
 public:
  TempFolder() {
    static std::atomic<int> counter{0};
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info != nullptr
                           ? absl::StrCat(info->test_suite_name(), "_", info->name())
                           : std::string("ingest");
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    path_ = (std::filesystem::path(::testing::TempDir()) /
             absl::StrCat("resact_", name, "_", getpid(), "_", counter++))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const std::string& path() const { return path_; }
  std::string Path(const std::string& relative) const {
    return (std::filesystem::path(path_) / relative).string();
  }
  // Writes `content` byte for byte to `relative` (folders are created);
  // returns the full path.
  std::string Write(const std::string& relative, const std::string& content) const {
    std::string full = Path(relative);
    std::filesystem::create_directories(std::filesystem::path(full).parent_path());
    std::ofstream f(full, std::ios::binary | std::ios::trunc);
    f << content;
    return full;
  }

 private:
  std::string path_;
};

// A StageSpec for a reader `type` with options `options_text` (the body of
// the options message, e.g. `path: "x" batch_rows: 2`).
inline std::string ReaderSpec(const std::string& type, const std::string& options_text) {
  return absl::StrCat("name: \"ingest\" type: \"", type,
                      "\" output_stream: \"requests\" options { "
                      "[type.googleapis.com/resact.",
                      type, "Options] { ", options_text, " } }");
}

// Creates the stage, runs Generate() and returns the emitted batches.
inline absl::StatusOr<std::vector<std::shared_ptr<const RequestBatch>>> RunReader(
    const std::string& type, const std::string& options_text, const std::string& workdir) {
  ASSIGN_OR_RETURN(auto runner, StageRunner::Create(ReaderSpec(type, options_text), workdir));
  RETURN_IF_ERROR(runner->Generate());
  RETURN_IF_ERROR(runner->Close());
  return runner->Outputs<RequestBatch>(0);
}

// All rows of `batches` in one batch (source: the first batch's).
inline RequestBatch Concat(const std::vector<std::shared_ptr<const RequestBatch>>& batches) {
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
inline std::vector<size_t> BatchSizes(
    const std::vector<std::shared_ptr<const RequestBatch>>& batches) {
  std::vector<size_t> sizes;
  for (const auto& b : batches) sizes.push_back(b->size());
  return sizes;
}

// `text` contains `part`: EXPECT_TRUE(Contains(ErrorOf(s), "file.csv:3:")).
inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// The error message of `s` ("OK" when OK).
template <class T>
std::string ErrorOf(const absl::StatusOr<T>& s) {
  return s.ok() ? std::string("OK") : std::string(s.status().message());
}
inline std::string ErrorOf(const absl::Status& s) {
  return s.ok() ? std::string("OK") : std::string(s.message());
}

}  // namespace ingest_test
}  // namespace resact
