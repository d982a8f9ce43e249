// The STATIC world is the control of the simulator's tables: for a fixed
// seed its log and the evaluator's π_β traces must stay byte-identical. The
// checksums below were recorded with the code before the LONG_TERM dynamics
// existed (commit 99180b8); any change to STATIC's draws or arithmetic
// changes them.
#include <cstring>

#include "gtest/gtest.h"
#include "stages/sim/sim_rollout.h"
#include "stages/sim/simulator_log_source.h"

namespace resact {
namespace {

// FNV-1a over raw bytes.
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void Add(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  template <typename T>
  void AddAll(const std::vector<T>& v) {
    Add(v.data(), v.size() * sizeof(T));
  }
};

TEST(SimStaticGolden, LogIsByteIdenticalToTheRecordedOne) {
  SimulatorOptions o;
  o.set_scale(0.002);
  o.set_seed(5);
  const SimWorld world(o);
  Fnv f;
  uint64_t rows = 0;
  for (int64_t u = 1; u <= world.num_users(); ++u) {
    SimUserLog l;
    SimulateLoggedUser(world, u, &l);
    f.Add(&u, sizeof(u));
    f.AddAll(l.item);
    f.AddAll(l.ts_ms);
    f.AddAll(l.feedback);
    f.AddAll(l.logprob);
    rows += l.item.size();
  }
  EXPECT_EQ(rows, 50444u);
  EXPECT_EQ(f.h, 17103798730598019617ull);
}

TEST(SimStaticGolden, EvaluatorBehaviourTracesAreByteIdenticalToTheRecordedOnes) {
  SimulatorOptions o;
  o.set_scale(0.002);
  o.set_seed(5);
  const SimWorld world(o);
  SimEvalConfig c;
  c.users = 100;
  c.days = 5;
  auto traces = SimulateUsers(world, c, nullptr);
  ASSERT_TRUE(traces.ok()) << traces.status();
  Fnv f;
  for (const SimTrace& t : *traces) {
    f.AddAll(t.session_length);
    f.AddAll(t.return_hours);
    f.AddAll(t.session_start_ms);
    f.AddAll(t.session_end_ms);
  }
  EXPECT_EQ(f.h, 3618698754744402657ull);
}

}  // namespace
}  // namespace resact
