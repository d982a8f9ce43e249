#include "graph/fault.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace resact {
namespace {

struct FaultSpec {
  std::string name;
  long count = 1;
  std::atomic<long> hits{0};
};

// Parsed once; nullptr when RESACT_FAULT is unset or empty.
FaultSpec* Spec() {
  static FaultSpec* spec = [] () -> FaultSpec* {
    const char* env = std::getenv("RESACT_FAULT");
    if (env == nullptr || env[0] == '\0') return nullptr;
    auto* s = new FaultSpec;
    std::string v(env);
    const size_t colon = v.rfind(':');
    s->name = v.substr(0, colon);
    if (colon != std::string::npos) s->count = std::max(1L, std::strtol(v.c_str() + colon + 1, nullptr, 10));
    return s;
  }();
  return spec;
}

}  // namespace

void FaultPoint(const char* name) {
  FaultSpec* s = Spec();
  if (s == nullptr || s->name != name) return;
  if (s->hits.fetch_add(1) + 1 < s->count) return;
  const char msg[] = "resact: RESACT_FAULT: killed at fault point\n";
  ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
  (void)ignored;
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

}  // namespace resact
