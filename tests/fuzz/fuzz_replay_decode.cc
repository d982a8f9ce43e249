// Fuzz target: the replay store's record codecs (storage/replay_format.h) on
// bytes as they could be stored in RocksDB. The whole input goes to every key
// parser (ParseReplayKey, ParseReplayItemKey) and value decoder
// (DecodeTransitionValue, DecodeSessionValue, DecodeUserValue,
// DecodeItemValue). A value that decodes must re-encode into one that
// decodes again to the same record; a key that parses must rebuild to the
// same bytes.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "storage/replay_format.h"
#include "tests/fuzz/fuzz_targets.h"

namespace resact {
namespace fuzz {
namespace {

// Equal, or both NaN (NaN payloads need not survive).
bool SameFloat(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// Equal sizes and SameFloat element by element.
bool SameFloats(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameFloat(a[i], b[i])) return false;
  }
  return true;
}

// Decodes `v` into *r with `decode`; when it decodes, encodes *r again with
// `encode` and decodes that into *r2, aborting when it does not. Returns
// whether `v` decoded.
template <class Record, class Decode, class Encode>
bool DecodeEncodeDecode(absl::string_view v, Decode decode, Encode encode, Record* r, Record* r2) {
  if (!decode(v, r)) return false;
  std::string again;
  encode(*r, &again);
  if (!decode(again, r2)) abort();
  return true;
}

void CheckTransition(absl::string_view v) {
  ReplayTransitionRecord r, r2;
  if (!DecodeEncodeDecode(v, DecodeTransitionValue, EncodeTransitionValue, &r, &r2)) return;
  // item_id means something only for an item outside the table (item_index < 0).
  if (r2.item_index != r.item_index || (r.item_index < 0 && r2.item_id != r.item_id) ||
      r2.dt_ms != r.dt_ms ||
      (r.last_in_session && (r2.r_rt != r.r_rt || r2.r_sl != r.r_sl)) || r2.done != r.done ||
      r2.last_in_session != r.last_in_session || r2.has_feedback != r.has_feedback ||
      r2.has_logprob != r.has_logprob || !SameFloat(r2.feedback, r.feedback) ||
      !SameFloat(r2.behaviour_logprob, r.behaviour_logprob)) {
    abort();
  }
}

void CheckSession(absl::string_view v) {
  ReplaySessionRecord r, r2;
  auto encode = [](const ReplaySessionRecord& s, std::string* out) {
    EncodeSessionValue(s, /*float16=*/false, out);
  };
  if (!DecodeEncodeDecode(v, DecodeSessionValue, encode, &r, &r2)) return;
  if (r2.start_ts_ms != r.start_ts_ms || r2.length != r.length || r2.r_rt != r.r_rt ||
      r2.r_sl != r.r_sl || !SameFloat(r2.return_hours, r.return_hours) ||
      !SameFloats(r2.s_h, r.s_h)) {
    abort();
  }
  std::string half;  // The float16 path must encode anything decoded.
  EncodeSessionValue(r, /*float16=*/true, &half);
  if (!DecodeSessionValue(half, &r2) || r2.s_h.size() != r.s_h.size()) abort();
}

void CheckUser(absl::string_view v) {
  ReplayUserRecord r, r2;
  if (!DecodeEncodeDecode(v, DecodeUserValue, EncodeUserValue, &r, &r2)) return;
  if (r2.is_test != r.is_test || r2.num_sessions != r.num_sessions ||
      r2.num_requests != r.num_requests || r2.first_ts_ms != r.first_ts_ms ||
      r2.last_ts_ms != r.last_ts_ms || !SameFloat(r2.mean_return_hours, r.mean_return_hours) ||
      !SameFloat(r2.mean_session_length, r.mean_session_length)) {
    abort();
  }
}

void CheckItem(absl::string_view v) {
  ReplayItemRecord r, r2;
  if (!DecodeEncodeDecode(v, DecodeItemValue, EncodeItemValue, &r, &r2)) return;
  if (r2.item_id != r.item_id || !SameFloats(r2.embedding, r.embedding)) abort();
}

void CheckKeys(absl::string_view k) {
  ReplayKey key;
  if (ParseReplayKey(k, &key)) {
    std::string again = k.size() == 12   ? ReplayUserKey(key.user)
                        : k.size() == 16 ? ReplaySessionKey(key.user, key.session)
                                         : ReplayTransitionKey(key.user, key.session, key.request);
    // The hash part is derived from the user, so only a consistent key round-trips.
    if (again.size() != k.size()) abort();
    if (again.compare(4, std::string::npos, k.data() + 4, k.size() - 4) != 0) abort();
  }
  uint32_t row = 0;
  if (ParseReplayItemKey(k, &row) && ReplayItemKey(row) != k) abort();
}

}  // namespace

int FuzzReplayDecode(const uint8_t* data, size_t size) {
  const absl::string_view v(reinterpret_cast<const char*>(data), size);
  CheckTransition(v);
  CheckSession(v);
  CheckUser(v);
  CheckItem(v);
  CheckKeys(v);
  return 0;
}

}  // namespace fuzz
}  // namespace resact

RESACT_FUZZ_MAIN(FuzzReplayDecode)
