// The fuzz targets' entry functions. Each tests/fuzz/fuzz_NAME.cc defines one
// of them; built with RESACT_LIBFUZZER_MAIN (RESACT_FUZZ=ON) the same file
// also defines LLVMFuzzerTestOneInput calling it, and the normal test binary
// runs each over its seed corpus and regressions
// (tests/fuzz/fuzz_regression_test.cc). Each returns 0 and must never crash,
// abort or hang on any input; errors of the code under test are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace resact {
namespace fuzz {

// Spec text, then after a line "#--set" one override per line: ParseSpec,
// ApplyOverride for each, BuildGraph.
int FuzzSpec(const uint8_t* data, size_t size);
// The input as a log file read by the reader stage through StageRunner; the
// first byte picks the options (format/delimiter, header, max_bad_rows).
int FuzzMovieLensReader(const uint8_t* data, size_t size);
int FuzzDelimitedReader(const uint8_t* data, size_t size);
int FuzzUserFeatureReader(const uint8_t* data, size_t size);
// Every key parser and value decoder of storage/replay_format.h on the input.
int FuzzReplayDecode(const uint8_t* data, size_t size);
// StripChecksumHeader (graph/files.h) on the input: a verified payload must
// frame back (WithChecksumHeader) into the input.
int FuzzChecksumFrame(const uint8_t* data, size_t size);
// The input after its first byte as model.pt of a real saved model, with the
// saved checksum in model.pbtxt (first byte even: must be refused with
// DataLoss) or the input's own (odd: reaches LibTorch), then LoadPolicy
// (learner builds only).
int FuzzModelLoad(const uint8_t* data, size_t size);
// The model folder FuzzModelLoad loads from (a real saved policy; its
// model.pt is replaced by each input), and that policy's weights as saved.
const std::string& ModelLoadDir();
const std::string& SavedModelWeights();

// A folder for this process's scratch files, created on first use and
// removed at exit (one per process, not per input).
const std::string& ProcessTempDir();
// Writes `size` bytes to `path`, replacing it.
void WriteBytes(const std::string& path, const uint8_t* data, size_t size);
// Quiets glog (stages log their lifecycle at INFO) for fuzzing speed.
void QuietLogging();

}  // namespace fuzz
}  // namespace resact

// In a target file: RESACT_FUZZ_MAIN(FuzzSpec) after the entry function.
#ifdef RESACT_LIBFUZZER_MAIN
#define RESACT_FUZZ_MAIN(fn)                                                  \
  extern "C" int LLVMFuzzerInitialize(int*, char***) {                        \
    ::resact::fuzz::QuietLogging();                                           \
    return 0;                                                                 \
  }                                                                           \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return ::resact::fuzz::fn(data, size);                                    \
  }
#else
#define RESACT_FUZZ_MAIN(fn)
#endif
