// The on-disk format of the replay store (format_version 1): its tables, keys,
// records, value codecs and float16. No rocksdb here; storage/replay_store.h
// is the database, storage/replay_batch_format.h turns a ReplayBatch into
// records.
//
// Column families and keys (all integers big-endian, so byte order = numeric
// order; `u` is the user id as u64 with the sign bit flipped so negative ids
// sort first; `h` is UserHash32(user), graph/hash.h):
//   users        h u32 | u u64                       -> ReplayUserRecord
//   sessions     h u32 | u u64 | session u32         -> ReplaySessionRecord
//   transitions  h u32 | u u64 | session u32 | req u32 -> ReplayTransitionRecord
//   items        row u32                              -> ReplayItemRecord
//   meta         "meta"                               -> ReplayMeta (binary proto)
//                "daily/..."                          -> daily-retraining state
//                (stages/replay/daily_ingest.h: the day manifest, the
//                return-time histogram, each user's tail)
// `session` is the user's 0-based session index (s - user_offset[u] of the
// batch) and `req` the request's index in its session. Keys are derived from
// the data only, so rewriting the same data is idempotent, and key order is
// the order in which the pipeline emits users (user-hash order).
//
// Values are compact binary (format_version 1):
//   transition: flags u8 (1 done, 2 last in session, 4 feedback, 8 logprob,
//               16 explicit item id) | zigzag varint item_index | varint
//               ms since session start | [r_rt u8, r_sl u8 if last] |
//               [zigzag varint item id if item_index < 0] | [f32 feedback] |
//               [f32 behaviour logprob]                     (~5-14 bytes)
//   session:    encoding u8 (0 f32, 1 f16) | varint dim | zigzag varint start
//               ts ms | varint length | f32 return_hours (NaN: none) | r_rt u8
//               | r_sl u8 | s_h as dim f32 or f16           (~60 bytes, d=16, f16)
//   user:       flags u8 (1 test) | varint sessions | varint requests | zigzag
//               varint first ts ms | varint last-first ms | f32 mean return
//               hours (NaN: none) | f32 mean session length
//   item:       zigzag varint item id | varint dim | dim f32
// Floats are little-endian. s_h is stored as float16 by default (half the
// bytes; |error| <= 2^-11 relative, enough for network inputs); set
// ReplayStoreOptions::session_state_float16 = false to keep it exact.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace resact {

// ---- Tables --------------------------------------------------------------

// The column families.
enum class ReplayTable { kTransitions = 0, kSessions, kUsers, kItems, kMeta };
inline constexpr int kNumReplayTables = 5;
// "transitions", "sessions", "users", "items", "meta".
const char* ReplayTableName(ReplayTable t);

// ---- Keys ----------------------------------------------------------------

// The key of the ReplayMeta in the meta table.
inline constexpr char kReplayMetaKey[] = "meta";

std::string ReplayUserKey(int64_t user);                         // 12 bytes
std::string ReplaySessionKey(int64_t user, uint32_t session);    // 16 bytes
std::string ReplayTransitionKey(int64_t user, uint32_t session,  // 20 bytes
                                uint32_t request);
std::string ReplayItemKey(uint32_t row);  // 4 bytes

struct ReplayKey {
  uint32_t hash = 0;
  int64_t user = 0;
  uint32_t session = 0;  // 0 for a user key.
  uint32_t request = 0;  // 0 for user and session keys.
};
// Parses a 12-, 16- or 20-byte user/session/transition key.
bool ParseReplayKey(absl::string_view key, ReplayKey* out);
// Parses a 4-byte item key.
bool ParseReplayItemKey(absl::string_view key, uint32_t* row);

// ---- Records -------------------------------------------------------------

struct ReplayTransitionRecord {
  int64_t user = 0;
  uint32_t session = 0;
  uint32_t request = 0;
  int32_t item_index = -1;     // Row in the item table; -1 when not in it.
  int64_t item_id = 0;         // Only decoded when item_index < 0 (else 0).
  uint64_t dt_ms = 0;          // Milliseconds since the session's first request.
  uint8_t r_rt = 0, r_sl = 0;  // Nonzero only on a session's last request.
  bool done = false;           // The user's last request.
  bool last_in_session = false;
  bool has_feedback = false;
  float feedback = 0;
  bool has_logprob = false;
  float behaviour_logprob = 0;
};

struct ReplaySessionRecord {
  int64_t user = 0;
  uint32_t session = 0;
  int64_t start_ts_ms = 0;
  uint32_t length = 0;     // Requests.
  float return_hours = 0;  // NaN for the user's last session.
  uint8_t r_rt = 0, r_sl = 0;
  std::vector<float> s_h;  // session_dim floats.
};

// Per-user summary, also what serving needs to build the next session's s_h
// (together with the user's last session record and its items).
struct ReplayUserRecord {
  int64_t user = 0;
  bool is_test = false;
  uint32_t num_sessions = 0;
  uint64_t num_requests = 0;
  int64_t first_ts_ms = 0;        // First request.
  int64_t last_ts_ms = 0;         // Last request.
  float mean_return_hours = 0;    // Over sessions with a return; NaN if none.
  float mean_session_length = 0;  // Requests per session.
};

struct ReplayItemRecord {
  uint32_t row = 0;
  int64_t item_id = 0;
  std::vector<float> embedding;
};

// Value codecs (the store uses them; exposed for tests and tools).
void EncodeTransitionValue(const ReplayTransitionRecord& r, std::string* out);
bool DecodeTransitionValue(absl::string_view v, ReplayTransitionRecord* r);
void EncodeSessionValue(const ReplaySessionRecord& r, bool float16, std::string* out);
bool DecodeSessionValue(absl::string_view v, ReplaySessionRecord* r);
void EncodeUserValue(const ReplayUserRecord& r, std::string* out);
bool DecodeUserValue(absl::string_view v, ReplayUserRecord* r);
void EncodeItemValue(const ReplayItemRecord& r, std::string* out);
bool DecodeItemValue(absl::string_view v, ReplayItemRecord* r);

// Unsigned LEB128 varints, as the values above store them (also for other
// compact records: stages/reward/return_histogram.h). ConsumeVarint reads
// one from the front of `in` and advances it; false when `in` is cut short
// or the varint is longer than 10 bytes.
void AppendVarint(std::string* out, uint64_t v);
bool ConsumeVarint(absl::string_view* in, uint64_t* v);
// Signed integers as the varints above store them (zigzag: small magnitudes
// stay short).
uint64_t ZigZag(int64_t v);
int64_t UnZigZag(uint64_t v);

// IEEE binary16 conversion, round to nearest even.
uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

// Appends `v` big-endian to a key (session and request parts).
void AppendReplayKeyU32(std::string* key, uint32_t v);
// Appends `v` as 8 big-endian bytes with the sign bit flipped, so that byte
// order is numeric order (the user part of the keys); and reads it back.
void AppendReplayKeyI64(std::string* key, int64_t v);
int64_t ReadReplayKeyI64(const char* p);

}  // namespace resact
