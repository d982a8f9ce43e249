// Fuzz target: MovieLensReader on a fuzzed ratings file. First byte: bits
// 0-1 the format (AUTO, ML1M_DAT, ML100K_DATA, ML_LATEST_CSV), bit 2
// max_bad_rows 3 instead of 0, bit 3 batch_rows 2 instead of the default.
#include "tests/fuzz/fuzz_reader_util.h"

namespace resact {
namespace fuzz {

int FuzzMovieLensReader(const uint8_t* data, size_t size) {
  return FuzzReader("MovieLensReader", "ratings.csv", data, size, [](uint8_t b) {
    static const char* const kFormats[] = {"AUTO", "ML1M_DAT", "ML100K_DATA", "ML_LATEST_CSV"};
    return absl::StrCat("format: ", kFormats[b & 3], (b & 4) ? " max_bad_rows: 3" : "",
                        (b & 8) ? " batch_rows: 2" : "");
  });
}

}  // namespace fuzz
}  // namespace resact

RESACT_FUZZ_MAIN(FuzzMovieLensReader)
