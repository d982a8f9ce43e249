// Fuzz target: UserFeatureReader on a fuzzed feature file. First byte: bits
// 0-1 the delimiter ("," "\t" "::" ";"), bit 2 no header, bit 3 the user
// column "user" (header) or "1" instead of the default "0", bit 4 explicit
// feature columns.
#include "tests/fuzz/fuzz_reader_util.h"

RESACT_DELIMITED_READER_FUZZ(
    FuzzUserFeatureReader, "UserFeatureReader", "features.csv",
    [](uint8_t b, bool header, std::string* options) {
      if (b & 8) {
        absl::StrAppend(options, header ? " user_column: \"user\"" : " user_column: \"1\"");
      }
      if (b & 16) {
        absl::StrAppend(options, header ? " feature_columns: \"f1\" feature_columns: \"f0\""
                                        : " feature_columns: \"2\" feature_columns: \"3\"");
      }
    })
