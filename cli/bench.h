// `resact bench ...`: commands that measure and print figures as JSON lines.
#pragma once

#include <cstdint>
#include <string>

namespace resact {

struct BenchIngestArgs {
  std::string input;
  std::string format = "csv";  // csv (user,item,timestamp header) or movielens
  double gap = 1800;
  std::string replay_dir;  // When set: full ingestion into a replay store here.
  bool pandas = false;     // Also run bench/pandas_ingest.py on the same file.
  int threads = 0;
};
int BenchIngestCommand(const BenchIngestArgs& args);

struct GenLogArgs {
  std::string out;
  int64_t rows = 25000000;
  int64_t users = 100000;
  uint64_t seed = 1;
};
// Writes an unsorted `user,item,timestamp` CSV with session structure.
int GenLogCommand(const GenLogArgs& args);

}  // namespace resact
