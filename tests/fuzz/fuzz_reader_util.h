// Running a reader stage on fuzz input: the first byte picks the options,
// the rest is written to a file in the process's scratch folder. Used by
// fuzz_movielens_reader.cc, fuzz_delimited_reader.cc and
// fuzz_user_feature_reader.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "graph/payload.h"
#include "graph/stage_runner.h"
#include "tests/fuzz/fuzz_targets.h"

namespace resact {
namespace fuzz {

// Aborts unless the packet's columns are consistent (what every consumer of a
// reader relies on).
inline void CheckPacket(const Packet& p) {
  if (p.payload == nullptr) abort();
  if (p.type == PayloadType::kRequests) {
    const RequestBatch& b = p.Get<RequestBatch>();
    const size_t n = b.user.size();
    if (b.item.size() != n || b.ts_ms.size() != n) abort();
    if (!b.feedback.empty() && b.feedback.size() != n) abort();
    if (!b.session_id.empty() && b.session_id.size() != n) abort();
    if (!b.behaviour_logprob.empty() && b.behaviour_logprob.size() != n) abort();
    if (b.num_extra < 0 || b.extra.size() != n * static_cast<size_t>(b.num_extra)) abort();
  } else if (p.type == PayloadType::kUserFeatures) {
    const UserFeatureTable& t = p.Get<UserFeatureTable>();
    if (t.dim < 0 || t.values.size() != t.user_id.size() * static_cast<size_t>(t.dim)) abort();
    for (size_t i = 1; i < t.user_id.size(); ++i) {
      if (!(t.user_id[i - 1] < t.user_id[i])) abort();
    }
  } else {
    abort();
  }
}

// Writes data[1..size) to `file_name` in the scratch folder, builds the
// reader `type` with `options_text` plus `path: "<file>"`, runs Generate()
// and Close(), and touches every emitted packet. Returns 0.
inline int RunReaderOnInput(const std::string& type, const std::string& file_name,
                            const std::string& options_text, const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string& dir = ProcessTempDir();
  const std::string path = absl::StrCat(dir, "/", file_name);
  WriteBytes(path, data + 1, size - 1);
  const std::string spec =
      absl::StrCat("name: \"ingest\" type: \"", type, "\" output_stream: \"out\" options { ",
                   "[type.googleapis.com/resact.", type, "Options] { path: \"", path, "\" ",
                   options_text, " } }");
  auto runner = StageRunner::Create(spec, absl::StrCat(dir, "/work"));
  if (!runner.ok()) abort();  // The options are ours: they must be valid.
  if ((*runner)->Generate().ok()) (void)(*runner)->Close();
  for (const Packet& p : (*runner)->outputs(0)) CheckPacket(p);
  return 0;
}

// The fuzz entry of reader `type`: RunReaderOnInput with the options
// `options(first byte)`.
template <class OptionsOfByte>
int FuzzReader(const std::string& type, const std::string& file_name, const uint8_t* data,
               size_t size, OptionsOfByte options) {
  if (size == 0) return 0;
  return RunReaderOnInput(type, file_name, options(data[0]), data, size);
}

// Bit 2 of the first byte clear: the delimited readers read a header.
inline bool HasHeader(uint8_t b) { return (b & 4) == 0; }

// The delimited readers' delimiter (bits 0-1 of the first byte: "," "\t"
// "::" ";") and has_header (HasHeader) options.
inline std::string DelimiterOptions(uint8_t b) {
  static const char* const kDelimiters[] = {",", "\\t", "::", ";"};
  return absl::StrCat("delimiter: \"", kDelimiters[b & 3],
                      "\" has_header: ", HasHeader(b) ? "true" : "false");
}

// FuzzReader for a delimited reader: DelimiterOptions, then what
// `more(first byte, HasHeader, &options)` appends.
template <class MoreOptions>
int FuzzDelimitedReaderType(const std::string& type, const std::string& file_name,
                            const uint8_t* data, size_t size, MoreOptions more) {
  return FuzzReader(type, file_name, data, size, [&more](uint8_t b) {
    std::string options = DelimiterOptions(b);
    more(b, HasHeader(b), &options);
    return options;
  });
}

}  // namespace fuzz
}  // namespace resact

// Defines the fuzz entry `fn` (fuzz_targets.h) of the delimited reader `type`
// reading its input as `file_name`: FuzzDelimitedReaderType with the `more`
// options callable given after them, and its libFuzzer main. At file scope:
//   RESACT_DELIMITED_READER_FUZZ(FuzzX, "XReader", "x.csv",
//                                [](uint8_t b, bool header, std::string* options) {...})
#define RESACT_DELIMITED_READER_FUZZ(fn, type, file_name, ...)                \
  namespace resact {                                                          \
  namespace fuzz {                                                            \
  int fn(const uint8_t* data, size_t size) {                                  \
    return FuzzDelimitedReaderType(type, file_name, data, size, __VA_ARGS__); \
  }                                                                           \
  }                                                                           \
  }                                                                           \
  RESACT_FUZZ_MAIN(fn)
