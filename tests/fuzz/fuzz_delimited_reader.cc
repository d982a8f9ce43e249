// Fuzz target: DelimitedLogReader on a fuzzed log file. First byte: bits 0-1
// the delimiter ("," "\t" "::" ";"), bit 2 no header (columns by index
// 0..3), bit 3 max_bad_rows 3, bits 4-5 the optional columns (feedback,
// session and logprob; extra columns), bit 6 the timestamp unit
// MILLISECONDS, bit 7 batch_rows 2.
#include "tests/fuzz/fuzz_reader_util.h"

RESACT_DELIMITED_READER_FUZZ(
    FuzzDelimitedReader, "DelimitedLogReader", "log.csv",
    [](uint8_t b, bool header, std::string* options) {
      if (!header) {
        absl::StrAppend(options, " user_column: \"0\" item_column: \"1\" timestamp_column: \"2\"");
      }
      if (b & 8) absl::StrAppend(options, " max_bad_rows: 3");
      if (b & 16) {
        absl::StrAppend(options, header ? " feedback_column: \"rating\" session_column: \"session\""
                                          " behaviour_logprob_column: \"logprob\""
                                        : " feedback_column: \"3\"");
      }
      if (b & 32) {
        absl::StrAppend(options, header ? " extra_columns: \"f0\" extra_columns: \"f1\""
                                        : " extra_columns: \"4\"");
      }
      if (b & 64) absl::StrAppend(options, " timestamp_unit: MILLISECONDS");
      if (b & 128) absl::StrAppend(options, " batch_rows: 2");
    })
