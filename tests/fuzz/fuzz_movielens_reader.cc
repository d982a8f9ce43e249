// Fuzz target: MovieLensReader on a fuzzed ratings file. First byte: bits
// 0-1 the format (AUTO, ML1M_DAT, ML100K_DATA, ML_LATEST_CSV), bit 2
// max_bad_rows 3 instead of 0, bit 3 batch_rows 2 instead of the default.
#include "tests/fuzz/fuzz_reader_util.h"

namespace resact {
namespace fuzz {

int FuzzMovieLensReader(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kFormats[] = {"AUTO", "ML1M_DAT", "ML100K_DATA", "ML_LATEST_CSV"};
  const uint8_t b = data[0];
  const std::string options =
      absl::StrCat("format: ", kFormats[b & 3], (b & 4) ? " max_bad_rows: 3" : "",
                   (b & 8) ? " batch_rows: 2" : "");
  return RunReaderOnInput("MovieLensReader", "ratings.csv", options, data, size);
}

}  // namespace fuzz
}  // namespace resact

RESACT_FUZZ_MAIN(FuzzMovieLensReader)
