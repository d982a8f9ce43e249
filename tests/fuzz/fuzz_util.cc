// Scratch folder and helpers shared by the fuzz targets.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "glog/logging.h"
#include "tests/fuzz/fuzz_targets.h"

namespace resact {
namespace fuzz {
namespace {

std::string* temp_dir = nullptr;

void RemoveTempDir() {
  if (temp_dir == nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(*temp_dir, ec);
}

}  // namespace

const std::string& ProcessTempDir() {
  if (temp_dir == nullptr) {
    std::string pattern = (std::filesystem::temp_directory_path() / "resact_fuzz_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) abort();
    temp_dir = new std::string(pattern);
    atexit(RemoveTempDir);
  }
  return *temp_dir;
}

void WriteBytes(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) abort();
}

void QuietLogging() {
  FLAGS_minloglevel = 3;  // FATAL only: a LOG(FATAL) is still a finding.
  FLAGS_logtostderr = true;
}

}  // namespace fuzz
}  // namespace resact
