// The replay store on its own: key layout, value codecs, float16, one atomic
// write per batch, point lookups, checksums and readable errors.
#include "storage/replay_store.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "graph/hash.h"
#include "gtest/gtest.h"
#include "tests/replay/replay_test_util.h"

namespace resact {
namespace {

using replay_test::HandBatch;
using replay_test::HandItems;
using replay_test::kT0;
using replay_test::kT1;
using replay_test::SynthBatch;
using replay_test::SynthItems;
using replay_test::SynthOptions;
using testing_util::ScopedTempDir;

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += d[c >> 4], out += d[c & 15];
  return out;
}

std::string BE32Hex(uint32_t v) {
  char b[9];
  snprintf(b, sizeof(b), "%08x", v);
  return b;
}

TEST(ReplayStoreKeys, ExactBytes) {
  EXPECT_EQ(Hex(ReplayUserKey(7)), BE32Hex(UserHash32(7)) + "8000000000000007");
  EXPECT_EQ(Hex(ReplayUserKey(-5)), BE32Hex(UserHash32(-5)) + "7ffffffffffffffb");
  EXPECT_EQ(Hex(ReplaySessionKey(7, 1)), BE32Hex(UserHash32(7)) + "8000000000000007" + "00000001");
  EXPECT_EQ(Hex(ReplayTransitionKey(7, 1, 258)),
            BE32Hex(UserHash32(7)) + "8000000000000007" + "00000001" + "00000102");
  EXPECT_EQ(Hex(ReplayItemKey(3)), "00000003");
  ReplayKey k;
  ASSERT_TRUE(ParseReplayKey(ReplayTransitionKey(-5, 2, 9), &k));
  EXPECT_EQ(k.user, -5);
  EXPECT_EQ(k.session, 2u);
  EXPECT_EQ(k.request, 9u);
  EXPECT_EQ(k.hash, UserHash32(-5));
  // Numeric order of (session, request) is byte order.
  EXPECT_LT(ReplayTransitionKey(7, 0, 255), ReplayTransitionKey(7, 0, 256));
  EXPECT_LT(ReplayTransitionKey(7, 0, 70000), ReplayTransitionKey(7, 1, 0));
  EXPECT_FALSE(ParseReplayKey("short", &k));
}

TEST(ReplayStoreCodec, Float16) {
  EXPECT_EQ(FloatToHalf(0.f), 0x0000);
  EXPECT_EQ(FloatToHalf(1.f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.f), 0xc000);
  EXPECT_EQ(FloatToHalf(65504.f), 0x7bff);
  EXPECT_EQ(FloatToHalf(1e6f), 0x7c00);                        // Overflow to inf.
  EXPECT_EQ(FloatToHalf(std::ldexp(1.f, -24)), 0x0001);        // Smallest subnormal.
  EXPECT_EQ(FloatToHalf(1.f + std::ldexp(1.f, -11)), 0x3c00);  // Tie to even.
  EXPECT_EQ(FloatToHalf(1.f + 3 * std::ldexp(1.f, -11)), 0x3c02);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
  // Every half value round-trips exactly.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(FloatToHalf(f), h) << h;
  }
  // Relative error of in-range values stays within 2^-11.
  for (float x = -3.f; x < 3.f; x += 0.0137f) {
    const float y = HalfToFloat(FloatToHalf(x));
    EXPECT_LE(std::fabs(y - x), std::ldexp(std::fabs(x), -11) + 1e-7f) << x;
  }
}

TEST(ReplayStoreCodec, RoundTripsAndSizes) {
  ReplayTransitionRecord t;
  t.item_index = 1234;
  t.dt_ms = 150000;
  t.last_in_session = true;
  t.done = true;
  t.r_rt = 3;
  t.r_sl = 5;
  t.has_feedback = true;
  t.feedback = 4.5f;
  std::string v;
  EncodeTransitionValue(t, &v);
  EXPECT_EQ(v.size(), 1u + 2 + 3 + 2 + 4);  // flags, index, dt, rewards, feedback
  ReplayTransitionRecord u;
  ASSERT_TRUE(DecodeTransitionValue(v, &u));
  EXPECT_EQ(u.item_index, 1234);
  EXPECT_EQ(u.dt_ms, 150000u);
  EXPECT_TRUE(u.done && u.last_in_session && u.has_feedback && !u.has_logprob);
  EXPECT_EQ(u.r_rt, 3);
  EXPECT_EQ(u.r_sl, 5);
  EXPECT_EQ(u.feedback, 4.5f);
  EXPECT_FALSE(DecodeTransitionValue(v.substr(0, v.size() - 1), &u));
  EXPECT_FALSE(DecodeTransitionValue(v + "x", &u));

  // A middle request: no rewards stored; an unknown item keeps its id.
  ReplayTransitionRecord m;
  m.item_index = -1;
  m.item_id = 99;
  m.dt_ms = 5;
  v.clear();
  EncodeTransitionValue(m, &v);
  EXPECT_EQ(v.size(), 5u);  // flags, index, dt, item id (2)
  ASSERT_TRUE(DecodeTransitionValue(v, &u));
  EXPECT_EQ(u.item_index, -1);
  EXPECT_EQ(u.item_id, 99);
  EXPECT_FALSE(u.last_in_session);
  EXPECT_EQ(u.r_rt, 0);

  ReplaySessionRecord s;
  s.start_ts_ms = kT0;
  s.length = 3;
  s.return_hours = std::nanf("");
  s.r_rt = 1;
  s.r_sl = 2;
  s.s_h = {0.5f, -0.25f, 0.1f};
  for (bool f16 : {false, true}) {
    v.clear();
    EncodeSessionValue(s, f16, &v);
    EXPECT_EQ(v.size(), 1u + 1 + 6 + 1 + 4 + 2 + (f16 ? 6 : 12));
    ReplaySessionRecord r;
    ASSERT_TRUE(DecodeSessionValue(v, &r));
    EXPECT_EQ(r.start_ts_ms, kT0);
    EXPECT_EQ(r.length, 3u);
    EXPECT_TRUE(std::isnan(r.return_hours));
    EXPECT_EQ(r.s_h[0], 0.5f);
    EXPECT_EQ(r.s_h[1], -0.25f);
    EXPECT_EQ(r.s_h[2], f16 ? HalfToFloat(FloatToHalf(0.1f)) : 0.1f);
  }
}

TEST(ReplayStore, WritesOneBatchAndReadsRecordsBack) {
  ScopedTempDir tmp("replay_store");
  ReplayStoreOptions o;
  o.create = true;
  o.session_state_float16 = false;
  o.sync = true;  // fsync per write: same results, just slower.
  auto store_or = ReplayStore::Open(tmp / "db", o);
  ASSERT_TRUE(store_or.ok()) << store_or.status();
  auto& store = *store_or;
  auto batch = HandBatch();
  ASSERT_TRUE(store->WriteBatch(*batch).ok());
  ASSERT_TRUE(store->WriteItems(*HandItems()).ok());

  auto t = store->GetTransition(7, 0, 2);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->item_index, 1);  // Item 20.
  EXPECT_EQ(t->dt_ms, 150000u);
  EXPECT_TRUE(t->last_in_session);
  EXPECT_FALSE(t->done);
  EXPECT_EQ(t->r_rt, 3);
  EXPECT_EQ(t->r_sl, 2);
  EXPECT_EQ(t->feedback, 5.f);
  EXPECT_EQ(t->behaviour_logprob, -3.f);
  t = store->GetTransition(7, 0, 1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->r_rt, 0);  // Rewards only on the session's last request.
  EXPECT_EQ(t->r_sl, 0);
  EXPECT_FALSE(t->last_in_session);
  t = store->GetTransition(7, 1, 1);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->done);
  EXPECT_EQ(t->r_sl, 1);
  t = store->GetTransition(-5, 0, 1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->item_index, -1);
  EXPECT_EQ(t->item_id, 99);
  EXPECT_TRUE(t->done);
  EXPECT_TRUE(absl::IsNotFound(store->GetTransition(7, 2, 0).status()));

  auto s = store->GetSession(7, 1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->start_ts_ms, kT0 + 36000000);
  EXPECT_EQ(s->length, 2u);
  EXPECT_TRUE(std::isnan(s->return_hours));
  ASSERT_EQ(s->s_h.size(), 11u);
  EXPECT_EQ(s->s_h[4], replay_test::HandState(7, 1, 4));
  s = store->GetSession(7, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s->return_hours, 9.958333, 1e-5);

  auto u = store->GetUser(7);
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->is_test);
  EXPECT_EQ(u->num_sessions, 2u);
  EXPECT_EQ(u->num_requests, 5u);
  EXPECT_EQ(u->first_ts_ms, kT0);
  EXPECT_EQ(u->last_ts_ms, kT0 + 36030000);
  EXPECT_NEAR(u->mean_return_hours, 9.958333, 1e-5);
  EXPECT_FLOAT_EQ(u->mean_session_length, 2.5f);
  u = store->GetUser(-5);
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->is_test);
  EXPECT_EQ(u->first_ts_ms, kT1);
  EXPECT_TRUE(std::isnan(u->mean_return_hours));

  // Key order = user-hash order, then session, then request.
  std::vector<std::string> keys;
  {
    auto c = store->NewCursor(ReplayTable::kTransitions);
    for (c->SeekToFirst(); c->Valid(); c->Next()) keys.emplace_back(c->key());
    ASSERT_TRUE(c->status().ok());
  }
  ASSERT_EQ(keys.size(), 7u);
  const bool seven_first = UserHash32(7) < UserHash32(-5);
  std::vector<std::string> want = {ReplayTransitionKey(7, 0, 0), ReplayTransitionKey(7, 0, 1),
                                   ReplayTransitionKey(7, 0, 2), ReplayTransitionKey(7, 1, 0),
                                   ReplayTransitionKey(7, 1, 1)};
  std::vector<std::string> five = {ReplayTransitionKey(-5, 0, 0), ReplayTransitionKey(-5, 0, 1)};
  want.insert(seven_first ? want.end() : want.begin(), five.begin(), five.end());
  EXPECT_EQ(keys, want);

  auto n = store->CountRecords(ReplayTable::kSessions);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  n = store->CountRecords(ReplayTable::kItems);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);

  // Rewriting is idempotent: same records, same checksum.
  auto c1 = store->ContentChecksum();
  ASSERT_TRUE(c1.ok());
  ASSERT_TRUE(store->WriteBatch(*batch).ok());
  auto c2 = store->ContentChecksum();
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(*c1, *c2);
  n = store->CountRecords(ReplayTable::kTransitions);
  EXPECT_EQ(*n, 7u);

  // Meta round trip.
  ReplayMeta meta;
  meta.set_state(ReplayMeta::WRITING);
  meta.set_source_fingerprint("abc");
  ASSERT_TRUE(store->WriteMeta(meta).ok());
  auto m = store->ReadMeta();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->source_fingerprint(), "abc");
  EXPECT_EQ(m->state(), ReplayMeta::WRITING);

  // A live cursor blocks Close() (RocksDB would abort) but not destruction.
  auto cursor = store->NewCursor(ReplayTable::kUsers);
  absl::Status closed = store->Close();
  EXPECT_TRUE(absl::IsFailedPrecondition(closed)) << closed;
  cursor.reset();
  ASSERT_TRUE(store->Close().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(store->ReadMeta().status()));
  auto after = store->NewCursor(ReplayTable::kUsers);
  after->SeekToFirst();
  EXPECT_FALSE(after->Valid());
  EXPECT_FALSE(after->status().ok());
  // A cursor that outlives its store keeps the database open until it goes.
  auto reopened = ReplayStore::Open(tmp / "db", false);
  ASSERT_TRUE(reopened.ok());
  auto orphan = (*reopened)->NewCursor(ReplayTable::kTransitions);
  reopened->reset();
  orphan->SeekToFirst();
  EXPECT_TRUE(orphan->Valid());
  orphan.reset();
}

TEST(ReplayStore, RejectsMalformedBatchesAtomically) {
  ScopedTempDir tmp("replay_store_bad");
  auto store = ReplayStore::Open(tmp / "db", true);
  ASSERT_TRUE(store.ok());
  auto good = HandBatch();
  auto bad = std::make_shared<ReplayBatch>(*good);
  bad->item_index.pop_back();
  absl::Status s = (*store)->WriteBatch(*bad);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("item_index"), std::string::npos) << s;
  auto sb = std::make_shared<SessionBatch>(*good->sessions);
  std::swap(sb->ts_ms[0], sb->ts_ms[1]);
  auto unsorted = std::make_shared<ReplayBatch>(*good);
  unsorted->sessions = sb;
  s = (*store)->WriteBatch(*unsorted);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("time order"), std::string::npos) << s;
  auto n = (*store)->CountRecords(ReplayTable::kTransitions);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);  // Nothing of a rejected batch was written.
}

TEST(ReplayStore, DestroyDeletesOnlyTheDatabase) {
  ScopedTempDir tmp("replay_store_destroy");
  {
    auto store = ReplayStore::Open(tmp / "db", true);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->WriteBatch(*HandBatch()).ok());
  }
  std::FILE* f = std::fopen((tmp / "db/notes.txt").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  EXPECT_TRUE(ReplayStore::Exists(tmp / "db"));
  ASSERT_TRUE(ReplayStore::Destroy(tmp / "db").ok());
  EXPECT_FALSE(ReplayStore::Exists(tmp / "db"));
  EXPECT_TRUE(std::filesystem::exists(tmp / "db/notes.txt"));
  ASSERT_TRUE(ReplayStore::Destroy(tmp / "db").ok());  // Nothing left: still OK.
  // Without the extra file the directory goes too.
  {
    auto store = ReplayStore::Open(tmp / "db2", true);
    ASSERT_TRUE(store.ok());
  }
  ASSERT_TRUE(ReplayStore::Destroy(tmp / "db2").ok());
  EXPECT_FALSE(std::filesystem::exists(tmp / "db2"));
}

// The batch with its users in reverse order (so not in key order).
std::shared_ptr<const ReplayBatch> ReverseUsers(const ReplayBatch& in) {
  const SessionBatch& s = *in.sessions;
  auto sb = std::make_shared<SessionBatch>();
  auto rb = std::make_shared<ReplayBatch>();
  sb->reward_stats = s.reward_stats;
  sb->user_offset.push_back(0);
  sb->session_offset.push_back(0);
  rb->session_state_dim = in.session_state_dim;
  const size_t dim = in.session_state_dim;
  for (size_t u = s.num_users(); u-- > 0;) {
    sb->user.push_back(s.user[u]);
    sb->is_test.push_back(s.is_test[u]);
    for (uint32_t j = s.user_offset[u]; j < s.user_offset[u + 1]; ++j) {
      for (uint64_t r = s.session_offset[j]; r < s.session_offset[j + 1]; ++r) {
        sb->item.push_back(s.item[r]);
        sb->ts_ms.push_back(s.ts_ms[r]);
        sb->feedback.push_back(s.feedback[r]);
        rb->item_index.push_back(in.item_index[r]);
      }
      sb->session_offset.push_back(sb->item.size());
      sb->return_hours.push_back(s.return_hours[j]);
      sb->r_rt.push_back(s.r_rt[j]);
      sb->r_sl.push_back(s.r_sl[j]);
      rb->session_state.insert(rb->session_state.end(), in.session_state.begin() + j * dim,
                               in.session_state.begin() + (j + 1) * dim);
    }
    sb->user_offset.push_back(sb->session_offset.size() - 1);
  }
  rb->sessions = sb;
  return rb;
}

TEST(ReplayStore, IngestedBatchesEqualWriteAheadLogWrites) {
  ScopedTempDir tmp("replay_store_ingest");
  SynthOptions so;
  so.users_per_batch = 30;
  so.logprob = true;
  auto items = SynthItems(so);
  // Batches of overlapping key ranges (each batch's users are spread over
  // the whole key space), and one whose users are not in key order (written
  // through the log instead).
  std::vector<std::shared_ptr<const ReplayBatch>> batches;
  for (int k = 0; k < 6; ++k) batches.push_back(SynthBatch(so, k, *items));
  batches.push_back(ReverseUsers(*SynthBatch(so, 6, *items)));
  uint64_t checksum[2], transitions[2];
  for (int ingest = 0; ingest < 2; ++ingest) {
    ReplayStoreOptions o;
    o.create = true;
    o.ingest_batches = ingest == 1;
    const std::string dir = tmp / (ingest ? "ingested" : "logged");
    auto store = ReplayStore::Open(dir, o);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->WriteBatch(*batches[0]).ok());
    // Ingested batches are table files at once; logged ones wait in memtables.
    int sst_files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      sst_files += e.path().extension() == ".sst";
    }
    EXPECT_EQ(sst_files > 0, ingest == 1) << sst_files;
    for (size_t k = 1; k < batches.size(); ++k) ASSERT_TRUE((*store)->WriteBatch(*batches[k]).ok());
    ASSERT_TRUE((*store)->WriteItems(*items).ok());
    auto t = (*store)->GetTransition(batches[6]->sessions->user[0], 0, 0);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->item_index, batches[6]->item_index[0]);
    auto c = (*store)->ContentChecksum();
    auto n = (*store)->CountRecords(ReplayTable::kTransitions);
    ASSERT_TRUE(c.ok() && n.ok());
    checksum[ingest] = *c;
    transitions[ingest] = *n;
    ASSERT_TRUE((*store)->Close().ok());
    // The SST files were moved into the store; none is left behind.
    EXPECT_TRUE(!std::filesystem::exists(dir + "/ingest.tmp") ||
                std::filesystem::is_empty(dir + "/ingest.tmp"));
  }
  uint64_t expect = 0;
  for (const auto& b : batches) expect += b->sessions->num_requests();
  EXPECT_EQ(transitions[0], expect);
  EXPECT_EQ(transitions[1], expect);
  EXPECT_EQ(checksum[1], checksum[0]);
  // Destroy removes the ingestion directory with the database.
  ASSERT_TRUE(ReplayStore::Destroy(tmp / "ingested").ok());
  EXPECT_FALSE(std::filesystem::exists(tmp / "ingested"));
}

TEST(ReplayStore, ErrorsNameTheDirectory) {
  ScopedTempDir tmp("replay_store_err");
  auto missing = ReplayStore::Open(tmp / "nothing", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_NE(missing.status().message().find(tmp / "nothing"), std::string::npos);

  // A second writer on the same store: RocksDB's lock error, converted.
  auto first = ReplayStore::Open(tmp / "db", true);
  ASSERT_TRUE(first.ok());
  auto second = ReplayStore::Open(tmp / "db", true);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(tmp / "db"), std::string::npos) << second.status();

  // A path under a regular file cannot be created.
  std::FILE* f = std::fopen((tmp / "file").c_str(), "w");
  std::fclose(f);
  auto under_file = ReplayStore::Open(tmp / "file/db", true);
  ASSERT_FALSE(under_file.ok());
  EXPECT_NE(under_file.status().message().find(tmp / "file/db"), std::string::npos);
}

}  // namespace
}  // namespace resact
