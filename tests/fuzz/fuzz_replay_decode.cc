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

#include "absl/strings/string_view.h"
#include "storage/replay_format.h"
#include "tests/fuzz/fuzz_targets.h"

namespace resact {
namespace fuzz {
namespace {

// Equal, or both NaN (NaN payloads need not survive).
bool SameFloat(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void CheckTransition(absl::string_view v) {
  ReplayTransitionRecord r;
  if (!DecodeTransitionValue(v, &r)) return;
  std::string again;
  EncodeTransitionValue(r, &again);
  ReplayTransitionRecord r2;
  if (!DecodeTransitionValue(again, &r2)) abort();
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
  ReplaySessionRecord r;
  if (!DecodeSessionValue(v, &r)) return;
  std::string again;
  EncodeSessionValue(r, /*float16=*/false, &again);
  ReplaySessionRecord r2;
  if (!DecodeSessionValue(again, &r2)) abort();
  if (r2.start_ts_ms != r.start_ts_ms || r2.length != r.length || r2.r_rt != r.r_rt ||
      r2.r_sl != r.r_sl || !SameFloat(r2.return_hours, r.return_hours) ||
      r2.s_h.size() != r.s_h.size()) {
    abort();
  }
  for (size_t i = 0; i < r.s_h.size(); ++i) {
    if (!SameFloat(r2.s_h[i], r.s_h[i])) abort();
  }
  std::string half;  // The float16 path must encode anything decoded.
  EncodeSessionValue(r, /*float16=*/true, &half);
  if (!DecodeSessionValue(half, &r2) || r2.s_h.size() != r.s_h.size()) abort();
}

void CheckUser(absl::string_view v) {
  ReplayUserRecord r;
  if (!DecodeUserValue(v, &r)) return;
  std::string again;
  EncodeUserValue(r, &again);
  ReplayUserRecord r2;
  if (!DecodeUserValue(again, &r2)) abort();
  if (r2.is_test != r.is_test || r2.num_sessions != r.num_sessions ||
      r2.num_requests != r.num_requests || r2.first_ts_ms != r.first_ts_ms ||
      r2.last_ts_ms != r.last_ts_ms || !SameFloat(r2.mean_return_hours, r.mean_return_hours) ||
      !SameFloat(r2.mean_session_length, r.mean_session_length)) {
    abort();
  }
}

void CheckItem(absl::string_view v) {
  ReplayItemRecord r;
  if (!DecodeItemValue(v, &r)) return;
  std::string again;
  EncodeItemValue(r, &again);
  ReplayItemRecord r2;
  if (!DecodeItemValue(again, &r2)) abort();
  if (r2.item_id != r.item_id || r2.embedding.size() != r.embedding.size()) abort();
  for (size_t i = 0; i < r.embedding.size(); ++i) {
    if (!SameFloat(r2.embedding[i], r.embedding[i])) abort();
  }
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
