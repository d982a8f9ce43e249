// Deterministic hashing of user ids: one function serves the train/test split,
// the partitioning of work by user, and the replay key prefix, so that
// partition order equals key order.
#pragma once

#include <cstdint>

namespace resact {

// SplitMix64 finalizer: a fast, well-mixed 64-bit hash.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// 32-bit user hash; the first component of every replay key.
inline uint32_t UserHash32(int64_t user) {
  return static_cast<uint32_t>(Mix64(static_cast<uint64_t>(user)) >> 32);
}

// The order of users in replay keys (storage/replay_format.h): by
// UserHash32, then by id.
inline bool UserKeyLess(int64_t a, int64_t b) {
  const uint32_t ha = UserHash32(a), hb = UserHash32(b);
  return ha != hb ? ha < hb : a < b;
}

// True when `user` falls in the test split of size `test_fraction`.
inline bool IsTestUser(int64_t user, double test_fraction, uint64_t seed) {
  const uint64_t h = Mix64(static_cast<uint64_t>(user) ^ Mix64(seed + 0x5bd1e995ULL));
  return static_cast<double>(h >> 11) * 0x1.0p-53 < test_fraction;
}

}  // namespace resact
