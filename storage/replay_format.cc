#include "storage/replay_format.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "graph/hash.h"

namespace resact {

void AppendVarint(std::string* out, uint64_t v) {
  char b[10];
  int n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  out->append(b, n);
}

bool ConsumeVarint(absl::string_view* in, uint64_t* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(in->data());
  const auto* end = p + in->size();
  uint64_t v = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (p >= end) return false;
    const uint64_t b = *p++;
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      in->remove_prefix(static_cast<size_t>(p - reinterpret_cast<const unsigned char*>(in->data())));
      return true;
    }
  }
  return false;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

namespace {

// ---- Byte helpers ----

void PutBE32(std::string* s, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  s->append(b, 4);
}
void PutBE64(std::string* s, uint64_t v) {
  PutBE32(s, static_cast<uint32_t>(v >> 32));
  PutBE32(s, static_cast<uint32_t>(v));
}
uint32_t GetBE32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}
uint64_t GetBE64(const char* p) { return (uint64_t{GetBE32(p)} << 32) | GetBE32(p + 4); }

void PutF32(std::string* s, float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  char b[4] = {static_cast<char>(u), static_cast<char>(u >> 8), static_cast<char>(u >> 16),
               static_cast<char>(u >> 24)};
  s->append(b, 4);
}

// Sequential decoder over a value; every Get returns false past the end.
class Reader {
 public:
  explicit Reader(absl::string_view v)
      : p_(reinterpret_cast<const unsigned char*>(v.data())), end_(p_ + v.size()) {}
  bool U8(uint8_t* out) {
    if (p_ >= end_) return false;
    *out = *p_++;
    return true;
  }
  bool Varint(uint64_t* out) {
    absl::string_view in(reinterpret_cast<const char*>(p_), static_cast<size_t>(end_ - p_));
    if (!ConsumeVarint(&in, out)) return false;
    p_ = reinterpret_cast<const unsigned char*>(in.data());
    return true;
  }
  bool SVarint(int64_t* out) {
    uint64_t u;
    if (!Varint(&u)) return false;
    *out = UnZigZag(u);
    return true;
  }
  bool F32(float* out) {
    if (end_ - p_ < 4) return false;
    const uint32_t u = uint32_t{p_[0]} | (uint32_t{p_[1]} << 8) | (uint32_t{p_[2]} << 16) |
                       (uint32_t{p_[3]} << 24);
    std::memcpy(out, &u, 4);
    p_ += 4;
    return true;
  }
  bool F16(float* out) {
    if (end_ - p_ < 2) return false;
    *out = HalfToFloat(static_cast<uint16_t>(p_[0] | (p_[1] << 8)));
    p_ += 2;
    return true;
  }
  bool done() const { return p_ == end_; }

 private:
  const unsigned char* p_;
  const unsigned char* end_;
};

void AppendUserPrefix(std::string* k, int64_t user) {
  PutBE32(k, UserHash32(user));
  AppendReplayKeyI64(k, user);
}

enum TransitionFlags : uint8_t {
  kDone = 1,
  kLast = 2,
  kHasFeedback = 4,
  kHasLogprob = 8,
  kExplicitItem = 16,
};

}  // namespace

// ---- Tables ----

const char* ReplayTableName(ReplayTable t) {
  static constexpr const char* kNames[kNumReplayTables] = {"transitions", "sessions", "users",
                                                          "items", "meta"};
  const int i = static_cast<int>(t);
  return i >= 0 && i < kNumReplayTables ? kNames[i] : "unknown";
}

// ---- Keys ----

void AppendReplayKeyU32(std::string* key, uint32_t v) { PutBE32(key, v); }

void AppendReplayKeyI64(std::string* key, int64_t v) {
  PutBE64(key, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}
int64_t ReadReplayKeyI64(const char* p) {
  return static_cast<int64_t>(GetBE64(p) ^ (uint64_t{1} << 63));
}

std::string ReplayUserKey(int64_t user) {
  std::string k;
  k.reserve(12);
  AppendUserPrefix(&k, user);
  return k;
}
std::string ReplaySessionKey(int64_t user, uint32_t session) {
  std::string k;
  k.reserve(16);
  AppendUserPrefix(&k, user);
  PutBE32(&k, session);
  return k;
}
std::string ReplayTransitionKey(int64_t user, uint32_t session, uint32_t request) {
  std::string k;
  k.reserve(20);
  AppendUserPrefix(&k, user);
  PutBE32(&k, session);
  PutBE32(&k, request);
  return k;
}
std::string ReplayItemKey(uint32_t row) {
  std::string k;
  PutBE32(&k, row);
  return k;
}

bool ParseReplayKey(absl::string_view key, ReplayKey* out) {
  if (key.size() != 12 && key.size() != 16 && key.size() != 20) return false;
  out->hash = GetBE32(key.data());
  out->user = ReadReplayKeyI64(key.data() + 4);
  out->session = key.size() >= 16 ? GetBE32(key.data() + 12) : 0;
  out->request = key.size() == 20 ? GetBE32(key.data() + 16) : 0;
  return out->hash == UserHash32(out->user);
}

bool ParseReplayItemKey(absl::string_view key, uint32_t* row) {
  if (key.size() != 4) return false;
  *row = GetBE32(key.data());
  return true;
}

// ---- Float16 ----

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mant = x & 0x7fffffu;
  const int exp = static_cast<int>((x >> 23) & 0xffu);
  if (exp == 0xff) {  // Inf or NaN (NaN stays a quiet NaN).
    return static_cast<uint16_t>(sign | 0x7c00u | (mant != 0 ? 0x200u | (mant >> 13) : 0u));
  }
  const int e = exp - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // Overflow: inf.
  if (e <= 0) {                                                 // Subnormal or zero.
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - e;
    uint32_t m = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (m & 1u))) ++m;
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t h = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // May carry into the exponent.
  return static_cast<uint16_t>(h);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (uint32_t{h} & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {
      const float v = std::ldexp(static_cast<float>(mant), -24);
      return sign != 0 ? -v : v;
    }
  } else if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// ---- Value codecs ----

void EncodeTransitionValue(const ReplayTransitionRecord& r, std::string* out) {
  uint8_t flags = 0;
  if (r.done) flags |= kDone;
  if (r.last_in_session) flags |= kLast;
  if (r.has_feedback) flags |= kHasFeedback;
  if (r.has_logprob) flags |= kHasLogprob;
  if (r.item_index < 0) flags |= kExplicitItem;
  out->push_back(static_cast<char>(flags));
  AppendVarint(out, ZigZag(r.item_index));
  AppendVarint(out, r.dt_ms);
  if (r.last_in_session) {
    out->push_back(static_cast<char>(r.r_rt));
    out->push_back(static_cast<char>(r.r_sl));
  }
  if (r.item_index < 0) AppendVarint(out, ZigZag(r.item_id));
  if (r.has_feedback) PutF32(out, r.feedback);
  if (r.has_logprob) PutF32(out, r.behaviour_logprob);
}

bool DecodeTransitionValue(absl::string_view v, ReplayTransitionRecord* r) {
  Reader in(v);
  uint8_t flags;
  int64_t idx;
  if (!in.U8(&flags) || !in.SVarint(&idx) || !in.Varint(&r->dt_ms)) return false;
  r->item_index = static_cast<int32_t>(idx);
  r->done = (flags & kDone) != 0;
  r->last_in_session = (flags & kLast) != 0;
  r->has_feedback = (flags & kHasFeedback) != 0;
  r->has_logprob = (flags & kHasLogprob) != 0;
  r->r_rt = r->r_sl = 0;
  if (r->last_in_session && (!in.U8(&r->r_rt) || !in.U8(&r->r_sl))) return false;
  r->item_id = 0;
  if ((flags & kExplicitItem) != 0 && !in.SVarint(&r->item_id)) return false;
  r->feedback = 0;
  if (r->has_feedback && !in.F32(&r->feedback)) return false;
  r->behaviour_logprob = 0;
  if (r->has_logprob && !in.F32(&r->behaviour_logprob)) return false;
  return in.done();
}

void EncodeSessionValue(const ReplaySessionRecord& r, bool float16, std::string* out) {
  out->push_back(float16 ? 1 : 0);
  AppendVarint(out, r.s_h.size());
  AppendVarint(out, ZigZag(r.start_ts_ms));
  AppendVarint(out, r.length);
  PutF32(out, r.return_hours);
  out->push_back(static_cast<char>(r.r_rt));
  out->push_back(static_cast<char>(r.r_sl));
  for (float f : r.s_h) {
    if (float16) {
      const uint16_t h = FloatToHalf(f);
      out->push_back(static_cast<char>(h & 0xff));
      out->push_back(static_cast<char>(h >> 8));
    } else {
      PutF32(out, f);
    }
  }
}

bool DecodeSessionValue(absl::string_view v, ReplaySessionRecord* r) {
  Reader in(v);
  uint8_t enc;
  uint64_t dim, length;
  if (!in.U8(&enc) || enc > 1 || !in.Varint(&dim) || dim > (1u << 20) ||
      !in.SVarint(&r->start_ts_ms) || !in.Varint(&length) || !in.F32(&r->return_hours) ||
      !in.U8(&r->r_rt) || !in.U8(&r->r_sl)) {
    return false;
  }
  r->length = static_cast<uint32_t>(length);
  r->s_h.resize(dim);
  for (uint64_t k = 0; k < dim; ++k) {
    if (!(enc == 1 ? in.F16(&r->s_h[k]) : in.F32(&r->s_h[k]))) return false;
  }
  return in.done();
}

void EncodeUserValue(const ReplayUserRecord& r, std::string* out) {
  out->push_back(r.is_test ? 1 : 0);
  AppendVarint(out, r.num_sessions);
  AppendVarint(out, r.num_requests);
  AppendVarint(out, ZigZag(r.first_ts_ms));
  AppendVarint(out, static_cast<uint64_t>(std::max<int64_t>(0, r.last_ts_ms - r.first_ts_ms)));
  PutF32(out, r.mean_return_hours);
  PutF32(out, r.mean_session_length);
}

bool DecodeUserValue(absl::string_view v, ReplayUserRecord* r) {
  Reader in(v);
  uint8_t flags;
  uint64_t sessions, span;
  if (!in.U8(&flags) || !in.Varint(&sessions) || !in.Varint(&r->num_requests) ||
      !in.SVarint(&r->first_ts_ms) || !in.Varint(&span) || !in.F32(&r->mean_return_hours) ||
      !in.F32(&r->mean_session_length)) {
    return false;
  }
  // The encoder writes span = last - first as an int64, so span <= INT64_MAX,
  // and last = first + span must fit in int64. (The bound used to be
  // INT64_MAX - uint64(first), which wraps for a negative first and let a
  // span above INT64_MAX through; re-encoding such a record overflowed
  // last - first: input tests/fuzz/regressions/fuzz_replay_decode/
  // user_span_negative_first, found by fuzz_replay_decode.)
  if (span > static_cast<uint64_t>(INT64_MAX) ||
      (r->first_ts_ms > 0 &&
       span > static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(r->first_ts_ms))) {
    return false;
  }
  r->is_test = (flags & 1) != 0;
  r->num_sessions = static_cast<uint32_t>(sessions);
  r->last_ts_ms = static_cast<int64_t>(static_cast<uint64_t>(r->first_ts_ms) + span);
  return in.done();
}

void EncodeItemValue(const ReplayItemRecord& r, std::string* out) {
  AppendVarint(out, ZigZag(r.item_id));
  AppendVarint(out, r.embedding.size());
  for (float f : r.embedding) PutF32(out, f);
}

bool DecodeItemValue(absl::string_view v, ReplayItemRecord* r) {
  Reader in(v);
  uint64_t dim;
  if (!in.SVarint(&r->item_id) || !in.Varint(&dim) || dim > (1u << 20)) return false;
  r->embedding.resize(dim);
  for (uint64_t k = 0; k < dim; ++k) {
    if (!in.F32(&r->embedding[k])) return false;
  }
  return in.done();
}

}  // namespace resact
