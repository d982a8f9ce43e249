// DailyIngest (stages/replay/daily_ingest.h) against the batch path: a
// synthetic seven-day log, with sessions that cross midnight and a user who
// is absent for days, ingested one run per day, must give the records,
// counts and statistics that Sessionize → Reward → StateFeatures →
// ReplayWriter give over the same seven days in one run; rewards read from
// the daily store must be the batch formulas over everything ingested.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "graph/stage_runner.h"
#include "graph/status.h"
#include "stages/replay/daily_ingest.h"
#include "stages/reward/return_histogram.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"
#include "storage/reward_rules.h"
#include "tests/replay/replay_test_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using testing_util::ScopedTempDir;

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kStart = 1700006400000;  // A midnight (UTC), Unix ms.
constexpr int kDays = 7;
constexpr int64_t kAbsentUser = 7;  // Days 0, 1 and 6 only.

std::shared_ptr<const ItemTable> Items() {
  auto t = std::make_shared<ItemTable>();
  t->dim = 4;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int i = 0; i < 30; ++i) {
    t->item_id.push_back(100 + i);
    for (int c = 0; c < t->dim; ++c) t->embedding.push_back(u(rng));
  }
  return t;
}

// Seven days of requests of users 1..40. Every user has sessions of 1..8
// requests 20 s to 10 min apart; users 1..5 start a session at 23:50 each
// day, which runs past midnight; user 7 is absent on days 2..5.
std::vector<DayRequests> SyntheticDays(uint32_t seed = 11) {
  std::vector<DayRequests> days(kDays);
  for (int d = 0; d < kDays; ++d) days[d].name = absl::StrFormat("day-%03d", d);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> item(100, 129), len(1, 8), per_day(0, 3);
  std::uniform_int_distribution<int64_t> step(20000, 600000), at(0, kDayMs - 7200000);
  std::uniform_real_distribution<float> fb(0, 5), lp(-6, -1);
  auto add = [&](int64_t user, int64_t t) {
    const int d = static_cast<int>((t - kStart) / kDayMs);
    if (d < 0 || d >= kDays) return;
    if (user == kAbsentUser && d >= 2 && d <= 5) return;
    DayRequests& day = days[d];
    day.user.push_back(user);
    day.item.push_back(item(rng));
    day.ts_ms.push_back(t);
    day.feedback.push_back(fb(rng));
    day.logprob.push_back(lp(rng));
  };
  for (int64_t user = 1; user <= 40; ++user) {
    for (int d = 0; d < kDays; ++d) {
      if (user == kAbsentUser && d >= 2 && d <= 5) continue;
      std::vector<int64_t> starts;
      for (int k = per_day(rng) + (user == kAbsentUser ? 1 : 0); k > 0; --k) {
        starts.push_back(kStart + d * kDayMs + at(rng));
      }
      if (user <= 5) starts.push_back(kStart + (d + 1) * kDayMs - 600000);  // 23:50.
      std::sort(starts.begin(), starts.end());
      int64_t free_from = 0;
      for (int64_t t : starts) {
        t = std::max(t, free_from + 1800001);  // Sessions stay apart.
        for (int r = len(rng); r > 0; --r) {
          add(user, t);
          t += step(rng) % 1700000;
        }
        free_from = t;
      }
    }
  }
  // Rows arrive unsorted.
  for (DayRequests& day : days) {
    std::vector<size_t> p(day.size());
    for (size_t i = 0; i < p.size(); ++i) p[i] = i;
    std::shuffle(p.begin(), p.end(), rng);
    DayRequests s = day;
    for (size_t i = 0; i < p.size(); ++i) {
      s.user[i] = day.user[p[i]];
      s.item[i] = day.item[p[i]];
      s.ts_ms[i] = day.ts_ms[p[i]];
      s.feedback[i] = day.feedback[p[i]];
      s.logprob[i] = day.logprob[p[i]];
    }
    day = s;
  }
  return days;
}

std::shared_ptr<const RequestBatch> BatchOf(const DayRequests& day) {
  auto b = std::make_shared<RequestBatch>();
  b->user = day.user;
  b->item = day.item;
  b->ts_ms = day.ts_ms;
  b->feedback = day.feedback;
  b->behaviour_logprob = day.logprob;
  b->source = absl::StrCat("/logs/", day.name, ".csv");
  return b;
}

constexpr char kFeatures[] = "features { engagement_features: true }";

std::string DailySpec(const std::string& extra = "") {
  return absl::StrCat(
      "name: \"daily\" type: \"DailyIngest\" input_stream: \"requests\" input_stream: \"items\" "
      "options { [type.googleapis.com/resact.DailyIngestOptions] { gap_seconds: 1800 ",
      kFeatures, " ", extra, " } }");
}

// One DailyIngest run over `days`.
absl::Status RunDaily(const std::string& workdir, const std::vector<const DayRequests*>& days,
                      const std::string& extra = "") {
  ASSIGN_OR_RETURN(auto runner, StageRunner::Create(DailySpec(extra), workdir));
  RETURN_IF_ERROR(runner->Feed<ItemTable>(1, Items()));
  for (const DayRequests* d : days) RETURN_IF_ERROR(runner->Feed<RequestBatch>(0, BatchOf(*d)));
  RETURN_IF_ERROR(runner->Close());
  if (runner->Outputs<ReplayHandle>(0).size() != 1) {
    return absl::InternalError("DailyIngest emitted no ReplayHandle");
  }
  return absl::OkStatus();
}

// The batch path over every day at once.
absl::Status RunBatch(const std::string& workdir, const std::vector<DayRequests>& days) {
  ASSIGN_OR_RETURN(auto sessionize,
                   StageRunner::Create("name: \"s\" type: \"Sessionize\" input_stream: \"r\" "
                                       "output_stream: \"s\" options { "
                                       "[type.googleapis.com/resact.SessionizeOptions] { "
                                       "gap_seconds: 1800 } }",
                                       workdir));
  for (const DayRequests& d : days) RETURN_IF_ERROR(sessionize->Feed<RequestBatch>(0, BatchOf(d)));
  RETURN_IF_ERROR(sessionize->Close());
  ASSIGN_OR_RETURN(auto reward, StageRunner::Create("name: \"r\" type: \"Reward\" "
                                                    "input_stream: \"s\" output_stream: \"w\"",
                                                    workdir));
  for (const auto& s : sessionize->Outputs<SessionBatch>(0)) {
    RETURN_IF_ERROR(reward->Feed<SessionBatch>(0, s));
  }
  RETURN_IF_ERROR(reward->Close());
  ASSIGN_OR_RETURN(
      auto features,
      StageRunner::Create(absl::StrCat("name: \"f\" type: \"StateFeatures\" input_stream: \"w\" "
                                       "input_stream: \"i\" output_stream: \"b\" options { "
                                       "[type.googleapis.com/resact.StateFeaturesOptions] { "
                                       "engagement_features: true } }"),
                          workdir));
  RETURN_IF_ERROR(features->Feed<ItemTable>(1, Items()));
  for (const auto& s : reward->Outputs<SessionBatch>(0)) {
    RETURN_IF_ERROR(features->Feed<SessionBatch>(0, s));
  }
  RETURN_IF_ERROR(features->Close());
  ASSIGN_OR_RETURN(auto writer, StageRunner::Create(replay_test::WriterSpec("batch"), workdir));
  RETURN_IF_ERROR(writer->Feed<ItemTable>(1, Items()));
  for (const auto& b : features->Outputs<ReplayBatch>(0)) {
    RETURN_IF_ERROR(writer->Feed<ReplayBatch>(0, b));
  }
  return writer->Close();
}

std::unique_ptr<ReplayStore> OpenRead(const std::string& dir) {
  ReplayStoreOptions o;
  o.read_only = true;
  auto s = ReplayStore::Open(dir, o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

std::vector<ReplaySessionRecord> Sessions(const ReplayStore& s) {
  std::vector<ReplaySessionRecord> out;
  EXPECT_TRUE(s.ForEachSession([&](const ReplaySessionRecord& r) {
                 out.push_back(r);
                 return absl::OkStatus();
               }).ok());
  return out;
}
std::vector<ReplayTransitionRecord> Transitions(const ReplayStore& s) {
  std::vector<ReplayTransitionRecord> out;
  EXPECT_TRUE(s.ForEachTransition([&](const ReplayTransitionRecord& r) {
                 out.push_back(r);
                 return absl::OkStatus();
               }).ok());
  return out;
}
std::vector<ReplayUserRecord> Users(const ReplayStore& s) {
  std::vector<ReplayUserRecord> out;
  EXPECT_TRUE(s.ForEachUser([&](const ReplayUserRecord& r) {
                 out.push_back(r);
                 return absl::OkStatus();
               }).ok());
  return out;
}

// Every record equal, rewards aside (the daily store derives them on read).
void ExpectSameRecords(const ReplayStore& a, const ReplayStore& b) {
  const auto sa = Sessions(a), sb = Sessions(b);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("user ", sa[i].user, " session ", sa[i].session));
    ASSERT_EQ(sa[i].user, sb[i].user);
    ASSERT_EQ(sa[i].session, sb[i].session);
    EXPECT_EQ(sa[i].start_ts_ms, sb[i].start_ts_ms);
    EXPECT_EQ(sa[i].length, sb[i].length);
    if (std::isnan(sa[i].return_hours)) {
      EXPECT_TRUE(std::isnan(sb[i].return_hours));
    } else {
      EXPECT_EQ(sa[i].return_hours, sb[i].return_hours);
    }
    EXPECT_EQ(sa[i].s_h, sb[i].s_h);
  }
  const auto ta = Transitions(a), tb = Transitions(b);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("transition ", ta[i].user, "/", ta[i].session, "/", ta[i].request));
    ASSERT_EQ(ta[i].user, tb[i].user);
    ASSERT_EQ(ta[i].session, tb[i].session);
    ASSERT_EQ(ta[i].request, tb[i].request);
    EXPECT_EQ(ta[i].item_index, tb[i].item_index);
    EXPECT_EQ(ta[i].dt_ms, tb[i].dt_ms);
    EXPECT_EQ(ta[i].done, tb[i].done);
    EXPECT_EQ(ta[i].last_in_session, tb[i].last_in_session);
    EXPECT_EQ(ta[i].feedback, tb[i].feedback);
    EXPECT_EQ(ta[i].behaviour_logprob, tb[i].behaviour_logprob);
  }
  const auto ua = Users(a), ub = Users(b);
  ASSERT_EQ(ua.size(), ub.size());
  for (size_t i = 0; i < ua.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("user ", ua[i].user));
    EXPECT_EQ(ua[i].user, ub[i].user);
    EXPECT_EQ(ua[i].is_test, ub[i].is_test);
    EXPECT_EQ(ua[i].num_sessions, ub[i].num_sessions);
    EXPECT_EQ(ua[i].num_requests, ub[i].num_requests);
    EXPECT_EQ(ua[i].first_ts_ms, ub[i].first_ts_ms);
    EXPECT_EQ(ua[i].last_ts_ms, ub[i].last_ts_ms);
    EXPECT_EQ(ua[i].mean_session_length, ub[i].mean_session_length);
    if (!std::isnan(ua[i].mean_return_hours) || !std::isnan(ub[i].mean_return_hours)) {
      EXPECT_EQ(ua[i].mean_return_hours, ub[i].mean_return_hours);
    }
  }
}

void ExpectSameCounts(const ReplayMeta& a, const ReplayMeta& b) {
  EXPECT_EQ(a.users(), b.users());
  EXPECT_EQ(a.train_users(), b.train_users());
  EXPECT_EQ(a.test_users(), b.test_users());
  EXPECT_EQ(a.sessions(), b.sessions());
  EXPECT_EQ(a.train_sessions(), b.train_sessions());
  EXPECT_EQ(a.test_sessions(), b.test_sessions());
  EXPECT_EQ(a.transitions(), b.transitions());
  EXPECT_EQ(a.train_transitions(), b.train_transitions());
  EXPECT_EQ(a.test_transitions(), b.test_transitions());
  EXPECT_EQ(a.items(), b.items());
  EXPECT_EQ(std::vector<int64_t>(a.test_user().begin(), a.test_user().end()),
            std::vector<int64_t>(b.test_user().begin(), b.test_user().end()));
  EXPECT_EQ(a.has_feedback(), b.has_feedback());
  EXPECT_EQ(a.has_behaviour_logprob(), b.has_behaviour_logprob());
  EXPECT_EQ(a.first_request_ms(), b.first_request_ms());
  EXPECT_EQ(a.last_request_ms(), b.last_request_ms());
  EXPECT_EQ(a.layout().SerializeAsString(), b.layout().SerializeAsString());
  EXPECT_EQ(a.session_state().SerializeAsString(), b.session_state().SerializeAsString());
  EXPECT_NEAR(a.reward().feedback_mean(), b.reward().feedback_mean(), 1e-9);
  EXPECT_NEAR(a.reward().feedback_std(), b.reward().feedback_std(), 1e-9);
}

std::vector<const DayRequests*> Ptrs(const std::vector<DayRequests>& days) {
  std::vector<const DayRequests*> p;
  for (const auto& d : days) p.push_back(&d);
  return p;
}

TEST(DailyIngest, SevenDaysOneRunPerDayEqualTheBatchPath) {
  const std::vector<DayRequests> days = SyntheticDays();
  ScopedTempDir daily("daily"), batch("batch");
  // The log has what the test is about: sessions across midnight (a user's
  // requests 23:50 and 00:05 within the gap) and a user absent for days.
  int crossing = 0;
  for (int d = 0; d + 1 < kDays; ++d) {
    for (int64_t u = 1; u <= 5; ++u) {
      int64_t last = 0, first_next = std::numeric_limits<int64_t>::max();
      for (size_t i = 0; i < days[d].size(); ++i) {
        if (days[d].user[i] == u) last = std::max(last, days[d].ts_ms[i]);
      }
      for (size_t i = 0; i < days[d + 1].size(); ++i) {
        if (days[d + 1].user[i] == u) first_next = std::min(first_next, days[d + 1].ts_ms[i]);
      }
      crossing += first_next - last <= 1800000;
    }
  }
  ASSERT_GT(crossing, 5);

  for (int d = 0; d < kDays; ++d) {
    ASSERT_TRUE(RunDaily(daily.path(), {&days[d]}).ok()) << "day " << d;
    if (d == 5) {
      // The absent user's return is still pending: its last session is day 1's.
      auto s = OpenRead(daily.path() + "/replay");
      ASSERT_NE(s, nullptr);
      auto user = s->GetUser(kAbsentUser);
      ASSERT_TRUE(user.ok());
      EXPECT_LT(user->last_ts_ms, kStart + 2 * kDayMs);
      auto last = s->GetSession(kAbsentUser, user->num_sessions - 1);
      ASSERT_TRUE(last.ok());
      EXPECT_TRUE(std::isnan(last->return_hours));
    }
  }
  ASSERT_TRUE(RunBatch(batch.path(), days).ok());
  auto a = OpenRead(daily.path() + "/replay");
  auto b = OpenRead(batch.path() + "/replay");
  ASSERT_TRUE(a && b);
  ExpectSameRecords(*a, *b);
  const ReplayMeta ma = *a->ReadMeta(), mb = *b->ReadMeta();
  ExpectSameCounts(ma, mb);
  EXPECT_EQ(ma.state(), ReplayMeta::COMPLETE);
  EXPECT_TRUE(ma.reward().rewards_at_read());
  // δ_75% from the histogram, within its stated error of the exact one.
  EXPECT_NEAR(ma.reward().return_p75_hours(), mb.reward().return_p75_hours(),
              ReturnHistogram::RelativeError() * mb.reward().return_p75_hours());
  // The absent user's day-1 session now has its return (about five days).
  auto user = a->GetUser(kAbsentUser);
  ASSERT_TRUE(user.ok());
  bool long_return = false;
  for (uint32_t k = 0; k < user->num_sessions; ++k) {
    long_return |= a->GetSession(kAbsentUser, k)->return_hours > 96;
  }
  EXPECT_TRUE(long_return);
  auto state = ReadDailyState(*a);
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->manifest().day_size(), kDays);
  EXPECT_GT(state->manifest().day(6).completed_returns(), 0u);

  // Rewards read from the daily store: the batch formulas (Reward's) over
  // the batch store's sessions, with the daily δ_75%.
  ReplayReaderOptions ro;
  ro.split = ReplaySplit::kAll;
  auto ra = ReplayReader::Load(daily.path() + "/replay", ro);
  auto rb = ReplayReader::Load(batch.path() + "/replay", ro);
  ASSERT_TRUE(ra.ok() && rb.ok());
  ASSERT_EQ((*ra)->num_sessions(), (*rb)->num_sessions());
  ASSERT_EQ((*ra)->num_transitions(), (*rb)->num_transitions());
  const RewardRule rule = RewardRuleOf(ma.reward(), ma.last_request_ms());
  const auto sessions = Sessions(*b);
  const auto transitions = Transitions(*b);
  std::vector<int64_t> start, end;
  std::vector<uint64_t> length;
  std::vector<uint8_t> want_rt, want_sl;
  size_t t = 0;
  for (size_t i = 0; i < sessions.size();) {
    size_t j = i;
    start.clear(), end.clear(), length.clear();
    for (; j < sessions.size() && sessions[j].user == sessions[i].user; ++j) {
      start.push_back(sessions[j].start_ts_ms);
      length.push_back(sessions[j].length);
      t += sessions[j].length;
      end.push_back(sessions[j].start_ts_ms + static_cast<int64_t>(transitions[t - 1].dt_ms));
    }
    std::vector<uint8_t> rt(j - i), sl(j - i);
    SessionRewards(start.data(), end.data(), length.data(), j - i, rule, rt.data(), sl.data());
    want_rt.insert(want_rt.end(), rt.begin(), rt.end());
    want_sl.insert(want_sl.end(), sl.begin(), sl.end());
    i = j;
  }
  int nonzero = 0, same_as_batch = 0;
  for (size_t s = 0; s < sessions.size(); ++s) {
    const uint64_t last = (*ra)->session_transitions(s).end - 1;
    EXPECT_EQ((*ra)->r_rt(last), want_rt[s]) << "session " << s;
    EXPECT_EQ((*ra)->r_sl(last), want_sl[s]) << "session " << s;
    nonzero += want_rt[s] > 0;
    same_as_batch +=
        (*ra)->r_rt(last) == (*rb)->r_rt(last) && (*ra)->r_sl(last) == (*rb)->r_sl(last);
  }
  EXPECT_GT(nonzero, 100);
  // The batch store's own rewards (exact δ_75%) differ only where the two
  // caps straddle a step of the floor.
  EXPECT_GE(same_as_batch, static_cast<int>(sessions.size()) * 98 / 100);
}

TEST(DailyIngest, OneRunOverSevenDaysEqualsOneRunPerDay) {
  const std::vector<DayRequests> days = SyntheticDays();
  ScopedTempDir per_day("per_day"), once("once");
  for (int d = 0; d < kDays; ++d) ASSERT_TRUE(RunDaily(per_day.path(), {&days[d]}).ok());
  // The days given out of order in one run are ingested in day order.
  std::vector<const DayRequests*> shuffled = Ptrs(days);
  std::reverse(shuffled.begin(), shuffled.end());
  ASSERT_TRUE(RunDaily(once.path(), shuffled).ok());
  auto a = OpenRead(per_day.path() + "/replay");
  auto b = OpenRead(once.path() + "/replay");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a->ContentChecksum(), *b->ContentChecksum());
  EXPECT_EQ(a->ReadMeta()->SerializeAsString(), b->ReadMeta()->SerializeAsString());
}

TEST(DailyIngest, ReingestingADayChangesNothing) {
  const std::vector<DayRequests> days = SyntheticDays();
  ScopedTempDir tmp("again");
  for (int d = 0; d < 4; ++d) ASSERT_TRUE(RunDaily(tmp.path(), {&days[d]}).ok());
  uint64_t before;
  std::string meta;
  {
    auto s = OpenRead(tmp.path() + "/replay");
    before = *s->ContentChecksum();
    meta = s->ReadMeta()->SerializeAsString();
  }
  ASSERT_TRUE(RunDaily(tmp.path(), {&days[2]}).ok());
  ASSERT_TRUE(RunDaily(tmp.path(), {&days[3]}).ok());
  auto s = OpenRead(tmp.path() + "/replay");
  EXPECT_EQ(*s->ContentChecksum(), before);
  EXPECT_EQ(s->ReadMeta()->SerializeAsString(), meta);
}

TEST(DailyIngest, AChangedDayIsRefusedUnlessReingestThenReplacesExactlyIt) {
  const std::vector<DayRequests> days = SyntheticDays();
  std::vector<DayRequests> changed = days;
  // Day 3 changes: a different log for that day.
  changed[3] = SyntheticDays(/*seed=*/99)[3];
  ScopedTempDir tmp("replace"), fresh("fresh");
  for (int d = 0; d < kDays; ++d) ASSERT_TRUE(RunDaily(tmp.path(), {&days[d]}).ok());
  const absl::Status refused = RunDaily(tmp.path(), {&changed[3]});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("day-003"), std::string::npos) << refused;
  EXPECT_NE(refused.message().find("reingest"), std::string::npos) << refused;
  ASSERT_TRUE(RunDaily(tmp.path(), {&changed[3]}, "reingest: true").ok());
  // The same as a store that had the changed day from the start.
  for (int d = 0; d < kDays; ++d) ASSERT_TRUE(RunDaily(fresh.path(), {&changed[d]}).ok());
  auto a = OpenRead(tmp.path() + "/replay");
  auto b = OpenRead(fresh.path() + "/replay");
  ASSERT_TRUE(a && b);
  ExpectSameRecords(*a, *b);
  ExpectSameCounts(*a->ReadMeta(), *b->ReadMeta());
  EXPECT_EQ(*a->ContentChecksum(), *b->ContentChecksum());
  EXPECT_EQ(ReadDailyState(*a)->manifest().day(3).replaced(), 1u);
}

TEST(DailyIngest, ALateDayWithinTheWindowIsMergedAndAnOlderOneRefused) {
  const std::vector<DayRequests> days = SyntheticDays();
  ScopedTempDir late("late"), in_order("in_order"), refused("refused");
  for (int d = 0; d < kDays; ++d) {
    if (d != 4) ASSERT_TRUE(RunDaily(late.path(), {&days[d]}).ok());
  }
  ASSERT_TRUE(RunDaily(late.path(), {&days[4]}).ok());  // Two days late, window 7.
  for (int d = 0; d < kDays; ++d) ASSERT_TRUE(RunDaily(in_order.path(), {&days[d]}).ok());
  {
    auto a = OpenRead(late.path() + "/replay");
    auto b = OpenRead(in_order.path() + "/replay");
    ASSERT_TRUE(a && b);
    ExpectSameRecords(*a, *b);
    ExpectSameCounts(*a->ReadMeta(), *b->ReadMeta());
    EXPECT_GT(ReadDailyState(*a)->manifest().day(4).rebuilt_users(), 0u);
  }
  for (int d = 0; d < kDays; ++d) {
    if (d != 1) ASSERT_TRUE(RunDaily(refused.path(), {&days[d]}, "window_days: 3").ok());
  }
  uint64_t before = *OpenRead(refused.path() + "/replay")->ContentChecksum();
  const absl::Status st = RunDaily(refused.path(), {&days[1]}, "window_days: 3");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("day-001"), std::string::npos) << st;
  EXPECT_NE(st.message().find("window"), std::string::npos) << st;
  EXPECT_EQ(*OpenRead(refused.path() + "/replay")->ContentChecksum(), before);
}

TEST(DailyIngest, ReturnsPastTheHorizonAreCensoredAndCounted) {
  const std::vector<DayRequests> days = SyntheticDays();
  ScopedTempDir tmp("censor");
  const std::string two_days = "reward { censor_after_days: 2 }";
  for (int d = 0; d < kDays; ++d) {
    ASSERT_TRUE(RunDaily(tmp.path(), {&days[d]}, two_days).ok());
    auto s = OpenRead(tmp.path() + "/replay");
    const ReplayMeta meta = *s->ReadMeta();
    // The counts the ingester keeps equal those of the rule applied to
    // every user's last session.
    uint64_t censored = 0;
    for (const ReplayUserRecord& u : Users(*s)) {
      censored += (meta.last_request_ms() - u.last_ts_ms) / 3.6e6 > 48;
    }
    const DailyState state = *ReadDailyState(*s);
    const DayRecord& rec = state.manifest().day(d);
    EXPECT_EQ(rec.censored_returns(), censored) << "day " << d;
    EXPECT_EQ(rec.pending_returns(), meta.users() - censored) << "day " << d;
    // The absent user (last seen on day 1) is censored by day 5 and no more
    // once it comes back on day 6.
    const bool absent_censored = (meta.last_request_ms() - s->GetUser(kAbsentUser)->last_ts_ms) /
                                     3.6e6 > 48;
    if (d <= 1 || d == 6) EXPECT_FALSE(absent_censored) << "day " << d;
    if (d == 5) EXPECT_TRUE(absent_censored);
    if (d == 5) EXPECT_GT(rec.censored_returns(), 0u);
  }
}

TEST(DailyIngest, ABatchStoreOrAnotherItemTableIsRefused) {
  const std::vector<DayRequests> days = SyntheticDays();
  ScopedTempDir batch("batch_store"), daily("daily_items");
  ASSERT_TRUE(RunBatch(batch.path(), days).ok());
  absl::Status st = RunDaily(batch.path(), {&days[0]});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("batch run"), std::string::npos) << st;

  ASSERT_TRUE(RunDaily(daily.path(), {&days[0]}).ok());
  auto runner = StageRunner::Create(DailySpec(), daily.path());
  ASSERT_TRUE(runner.ok());
  auto other = std::make_shared<ItemTable>(*Items());
  other->embedding[0] += 0.5f;
  ASSERT_TRUE((*runner)->Feed<ItemTable>(1, other).ok());
  ASSERT_TRUE((*runner)->Feed<RequestBatch>(0, BatchOf(days[1])).ok());
  st = (*runner)->Close();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("item table"), std::string::npos) << st;
}

TEST(DailyIngest, DayOfFileReadsTheFileOrItsFolder) {
  EXPECT_EQ(*DayOfFile("/logs/2026-11-28.csv"), "2026-11-28");
  EXPECT_EQ(*DayOfFile("/logs/2026-11-28/part-0001.csv"), "2026-11-28");
  EXPECT_EQ(*DayOfFile("sim/day-007.csv"), "day-007");
  const auto bad = DayOfFile("/logs/all/requests.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/logs/all/requests.csv"), std::string::npos);
}

}  // namespace
}  // namespace resact
