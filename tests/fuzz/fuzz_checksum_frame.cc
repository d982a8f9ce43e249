// Fuzz target: the checksum frame of graph/files.h (StripChecksumHeader, as
// applied to checkpoints and other framed files read back from disk). Any
// input must give a payload or an error, never a crash; a payload reported
// verified must be exactly what WithChecksumHeader frames back into the
// input (one canonical header per payload), and an unframed input must come
// back whole.
#include <string>

#include "graph/files.h"
#include "tests/fuzz/fuzz_targets.h"

namespace resact {
namespace fuzz {

int FuzzChecksumFrame(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  bool verified = true;
  auto payload = StripChecksumHeader(input, &verified);
  if (!payload.ok()) {
    if (verified) __builtin_trap();
    return 0;
  }
  if (verified) {
    if (WithChecksumHeader(*payload) != input) __builtin_trap();
  } else if (*payload != input) {
    __builtin_trap();
  }
  // A payload framed here must always verify and come back unchanged.
  bool again = false;
  auto round = StripChecksumHeader(WithChecksumHeader(input), &again);
  if (!round.ok() || !again || *round != input) __builtin_trap();
  return 0;
}

}  // namespace fuzz
}  // namespace resact

RESACT_FUZZ_MAIN(FuzzChecksumFrame)
