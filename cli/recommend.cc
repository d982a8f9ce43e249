// Serving: for each user, the state of a new session starting `now` is built
// from the user's sessions in the replay store that started before `now` by
// the pipeline's own session-history builder, with the parameters recorded in
// the replay's metadata (stages/features/session_history.h ReplayUserState;
// position 0 for s_l); the policy acts on a batch of such states and each
// action is mapped to the top-k items by <a, e_i>.
// Prints one JSON line per user and a final line with the latency.
#include "cli/recommend.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "cli/commands.h"
#include "storage/feature_layout.h"
#include "graph/policy.h"
#include "graph/status.h"
#include "stages/features/session_history.h"
#include "stages/learners/policy/policy_io.h"
#include "storage/replay_format.h"
#include "storage/replay_batch_format.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"

namespace resact {

absl::Status ReadUsersFile(const std::string& path, std::vector<int64_t>* users) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read --users-file ", path));
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    absl::string_view v = absl::StripAsciiWhitespace(line);
    if (v.empty() || v.front() == '#') continue;
    int64_t u = 0;
    if (!absl::SimpleAtoi(v, &u)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": expected a user id (an integer), got '",
                       v.substr(0, 60), "'"));
    }
    users->push_back(u);
  }
  if (in.bad()) return absl::InternalError(absl::StrCat("error reading --users-file ", path));
  return absl::OkStatus();
}

int RecommendCommand(const RecommendArgs& a) {
  auto fail = [](const absl::Status& s, int code) {
    std::cerr << "error: " << s.message() << "\n";
    return code;
  };
  if (a.k < 1 || a.batch < 1 || !std::isfinite(a.now) || a.now < 0) {
    return fail(absl::InvalidArgumentError(absl::StrFormat(
                    "--k (%d) and --batch (%d) must be at least 1, --now (%g) finite and >= 0",
                    a.k, a.batch, a.now)),
                kExitUsage);
  }
  std::vector<int64_t> users = a.users;
  if (!a.users_file.empty()) {
    absl::Status read = ReadUsersFile(a.users_file, &users);
    if (!read.ok()) return fail(read, kExitUsage);
  }
  if (users.empty()) return fail(absl::InvalidArgumentError("give --user ID or --users-file"), kExitUsage);
  const std::string store_dir = ReplayDirOf(a.workdir);
  const auto t0 = std::chrono::steady_clock::now();
  ReplayStoreOptions so;
  so.read_only = true;
  auto store = ReplayStore::Open(store_dir, so);
  if (!store.ok()) return fail(store.status(), kExitRuntime);
  auto meta = (*store)->ReadMeta();
  if (!meta.ok()) return fail(meta.status(), kExitRuntime);
  if (absl::Status c = CheckReplayComplete(*meta, store_dir); !c.ok()) {
    return fail(c, kExitRuntime);
  }
  // The model is loaded once the replay is known to be readable.
  auto policy = LoadPolicy(a.model);
  if (!policy.ok()) return fail(policy.status(), kExitRuntime);
  const FeatureLayout layout = ReplayLayoutOf(*meta);
  const SessionStateParams params = SessionStateParamsOf(*meta, store_dir);
  if ((*policy)->state_dim() != layout.state_dim()) {
    return fail(absl::FailedPreconditionError(absl::StrFormat(
                    "the model takes %d state floats but the replay's layout has %d",
                    (*policy)->state_dim(), layout.state_dim())),
                kExitRuntime);
  }
  auto read_items = ReadReplayItems(**store, layout.emb_dim);
  if (!read_items.ok()) return fail(read_items.status(), kExitRuntime);
  const ItemTable& items = *read_items;
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  const auto t1 = std::chrono::steady_clock::now();
  const int sd = layout.state_dim(), ad = layout.action_dim();
  std::vector<float> states, actions;
  int served = 0;
  const int64_t now_ms = a.now > 0 ? static_cast<int64_t>(std::llround(a.now * 1000)) : 0;
  for (size_t b0 = 0; b0 < users.size(); b0 += a.batch) {
    const size_t n = std::min<size_t>(a.batch, users.size() - b0);
    states.assign(n * sd, 0.f);
    actions.resize(n * ad);
    std::vector<bool> known(n, true);
    for (size_t i = 0; i < n; ++i) {
      absl::Status us = ReplayUserState(**store, items, layout, params, users[b0 + i], now_ms,
                                        states.data() + i * sd);
      if (absl::IsNotFound(us)) {
        known[i] = false;
        continue;
      }
      if (!us.ok()) return fail(us, kExitRuntime);
    }
    absl::Status acted = (*policy)->Act(states.data(), n, actions.data());
    if (!acted.ok()) return fail(acted, kExitRuntime);
    for (size_t i = 0; i < n; ++i) {
      if (!known[i]) {
        std::cout << absl::StrFormat("{\"user\":%d,\"error\":\"user not in the replay store\"}\n",
                                     users[b0 + i]);
        continue;
      }
      std::vector<int32_t> rows = TopK(items, actions.data() + i * ad, a.k);
      std::vector<int64_t> ids;
      for (int32_t r : rows) ids.push_back(items.item_id[r]);
      std::cout << absl::StrFormat("{\"user\":%d,\"items\":[%s]}\n", users[b0 + i],
                                   absl::StrJoin(ids, ","));
      ++served;
    }
  }
  const double serve_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  std::cout << absl::StrFormat(
      "{\"bench\":\"recommend\",\"users\":%d,\"served\":%d,\"k\":%d,\"batch\":%d,\"load_ms\":%.1f,"
      "\"serve_ms\":%.2f,\"ms_per_user\":%.4f}\n",
      users.size(), served, a.k, a.batch, load_ms, serve_ms, serve_ms / users.size());
  return served == static_cast<int>(users.size()) ? kExitOk : kExitRuntime;
}

}  // namespace resact
