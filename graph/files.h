// Writing whole files: a reader never sees a half-written file, and a
// failed write is an error, not a silent short file.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace resact {

// Writes `bytes` to `path` through PATH.tmp and a rename. InternalError
// naming the file when the write or the rename fails.
absl::Status WriteFileAtomically(const std::string& path, const std::string& bytes);

}  // namespace resact
