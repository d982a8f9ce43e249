#include "cli/bench.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "graph/status.h"
#include "stages/replay/daily_ingest.h"
#include "stages/retrain/daily_retrain.h"
#include "stages/sim/simulator_log_source.h"
#include "tbb/global_control.h"
#include "tbb/parallel_for.h"
#include "graph/runner.h"
#include "graph/spec.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"

namespace resact {
namespace {

// Runs `cmd` and returns its standard output.
absl::StatusOr<std::string> RunAndCapture(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (pipe == nullptr) return absl::InternalError(absl::StrCat("cannot run ", cmd));
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe.get())) > 0) out.append(buf, n);
  return out;
}

// A benchmark's own workdir under the temp dir (NAME_PID), for a run given no
// place to write; the command removes it when it returns.
std::string TemporaryWorkdir(const std::string& name) {
  return (std::filesystem::temp_directory_path() / absl::StrCat(name, "_", getpid())).string();
}

// A benchmark's workdir: the one given, or a temporary one removed when
// this goes. A benchmark writes a fresh replay: ClearReplay() removes one an
// earlier run left.
class BenchWorkdir {
 public:
  BenchWorkdir(const std::string& given, const std::string& temporary_name)
      : temporary_(given.empty()), dir_(temporary_ ? TemporaryWorkdir(temporary_name) : given) {}
  ~BenchWorkdir() {
    std::error_code ec;
    if (temporary_) std::filesystem::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }
  std::string replay() const { return (std::filesystem::path(dir_) / "replay").string(); }
  absl::Status ClearReplay() const { return ReplayStore::Destroy(replay()); }

 private:
  bool temporary_;
  std::string dir_;
};

// The number after "key": in a JSON line, or 0.
double JsonNumber(const std::string& json, const std::string& key) {
  const std::string k = absl::StrCat("\"", key, "\":");
  const size_t pos = json.find(k);
  return pos == std::string::npos ? 0 : std::atof(json.c_str() + pos + k.size());
}

double PeakRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

// User + system CPU seconds of this process so far.
double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Spec of the benchmark. Without a replay dir it stops after the rewards.
std::string IngestSpec(const BenchIngestArgs& a) {
  std::string reader =
      a.format == "movielens"
          ? absl::StrFormat(R"(type: "MovieLensReader"
              options { [type.googleapis.com/resact.MovieLensReaderOptions] { path: "%s" } })",
                            a.input)
          : absl::StrFormat(R"(type: "DelimitedLogReader"
              options { [type.googleapis.com/resact.DelimitedLogReaderOptions] { path: "%s" %s } })",
                            a.input,
                            a.has_header ? ""
                                         : "has_header: false user_column: \"0\" "
                                           "item_column: \"1\" timestamp_column: \"2\"");
  std::string spec = absl::StrFormat(R"pb(
    name: "bench_ingest"
    stage { name: "ingest" %s output_stream: "requests" }
    stage { name: "sessionize" type: "Sessionize" input_stream: "requests" output_stream: "sessions"
            concurrency: 2
            options { [type.googleapis.com/resact.SessionizeOptions] { gap_seconds: %f } } }
  )pb", reader, a.gap);
  if (a.replay_dir.empty()) {
    absl::StrAppend(&spec, R"pb(
      stage { name: "reward" type: "Reward" input_stream: "sessions" output_stream: "rewarded" }
      stage { name: "drop" type: "Discard" input_stream: "rewarded"
              options { [type.googleapis.com/resact.DiscardOptions] { payload: REWARDED_SESSIONS } } }
    )pb");
  } else {
    absl::StrAppend(&spec, absl::StrFormat(R"pb(
      stage { name: "embed" type: "ItemEmbedding" input_stream: "sessions" output_stream: "items" }
      stage { name: "reward" type: "Reward" input_stream: "sessions" output_stream: "rewarded" }
      stage { name: "features" type: "StateFeatures" input_stream: "rewarded" input_stream: "items"
              output_stream: "replay_batches" concurrency: 2 }
      stage { name: "replay" type: "ReplayWriter" input_stream: "replay_batches" input_stream: "items"
              options { [type.googleapis.com/resact.ReplayWriterOptions] { dir: "%s" overwrite: true } } }
    )pb", a.replay_dir));
  }
  return spec;
}

}  // namespace

int BenchIngestCommand(const BenchIngestArgs& args) {
  if (args.format != "csv" && args.format != "movielens") {
    std::cerr << "error: --format must be csv or movielens\n";
    return kExitUsage;
  }
  if (!args.has_header && args.format != "csv") {
    std::cerr << "error: --no-header is for --format csv (MovieLensReader detects the header "
                 "of each file)\n";
    return kExitUsage;
  }
  if (!args.has_header && args.pandas) {
    std::cerr << "error: --pandas reads a file with a header line; drop --no-header or --pandas\n";
    return kExitUsage;
  }
  auto spec = ParseSpec(IngestSpec(args), "bench ingest");
  if (!spec.ok()) {
    std::cerr << "error: " << spec.status().message() << "\n";
    return kExitRuntime;
  }
  auto graph = BuildGraph(*spec);
  if (!graph.ok()) {
    std::cerr << "error: " << graph.status().message() << "\n";
    return kExitUsage;
  }
  const bool temporary = args.replay_dir.empty();
  RunOptions opts;
  opts.workdir = temporary ? TemporaryWorkdir("resact_bench_ingest")
                           : std::filesystem::path(args.replay_dir).parent_path().string();
  absl::Cleanup remove_temporary = [&] {
    std::error_code ec;
    if (temporary) std::filesystem::remove_all(opts.workdir, ec);
  };
  if (opts.workdir.empty()) opts.workdir = ".";
  opts.num_threads = args.threads;
  opts.progress_interval_s = 10;
  // Every run measures a fresh write (the spec replaces the store anyway): a
  // replay left by an earlier run would be rewritten in place, the slower
  // path of resuming a crashed write.
  if (!args.replay_dir.empty()) {
    if (absl::Status d = ReplayStore::Destroy(args.replay_dir); !d.ok()) {
      std::cerr << "error: " << d.message() << "\n";
      return kExitRuntime;
    }
  }
  auto summary = RunGraph(**graph, opts);
  if (!summary.ok()) {
    std::cerr << "error: " << summary.status().message() << "\n";
    return kExitRuntime;
  }
  const double rows = static_cast<double>(summary->rows["ingest"]);
  const double rps = rows / summary->seconds;
  std::cout << absl::StrFormat(
      "{\"bench\":\"ingest\",\"impl\":\"resact\",\"replay\":%s,\"rows\":%.0f,\"seconds\":%.3f,"
      "\"rows_per_s\":%.0f,\"peak_rss_mb\":%.0f}\n",
      args.replay_dir.empty() ? "false" : "true", rows, summary->seconds, rps, PeakRssMb());
  std::cout.flush();
  if (args.pandas) {
    const std::string cmd = absl::StrFormat("/usr/bin/python3 %s/bench/pandas_ingest.py '%s' --gap %f",
                                            RESACT_SOURCE_DIR, args.input, args.gap);
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    if (pipe == nullptr) {
      std::cerr << "error: cannot run " << cmd << "\n";
      return kExitRuntime;
    }
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), pipe.get())) > 0) out.append(buf, n);
    std::cout << out;
    const size_t pos = out.find("\"rows_per_s\": ");
    if (pos != std::string::npos) {
      const double pandas_rps = std::atof(out.c_str() + pos + 14);
      std::cout << absl::StrFormat("{\"bench\":\"ingest\",\"speedup_vs_pandas\":%.2f}\n",
                                   rps / pandas_rps);
    }
  }
  return kExitOk;
}

int BenchSimCommand(const BenchSimArgs& args) {
  if (!(args.scale > 0)) {
    std::cerr << "error: --scale must be > 0\n";
    return kExitUsage;
  }
  const std::string spec_path = absl::StrCat(RESACT_SOURCE_DIR, "/pipelines/recl_sim.pbtxt");
  auto spec = LoadSpec(spec_path);
  absl::Status s = spec.status();
  if (s.ok()) s = ApplyOverride(*spec, absl::StrFormat("simulate.sim.scale=%.17g", args.scale));
  // The benchmark replaces whatever replay its workdir holds (--workdir help).
  if (s.ok()) s = ApplyOverride(*spec, "simulate.sim.dynamics=" + args.dynamics);
  if (s.ok()) s = ApplyOverride(*spec, "replay.overwrite=true");
  if (!s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return kExitUsage;
  }
  auto graph = BuildGraph(*spec);
  if (!graph.ok()) {
    std::cerr << "error: " << spec_path << ": " << graph.status().message() << "\n";
    return kExitUsage;
  }
  const BenchWorkdir wd(args.workdir, "resact_bench_sim");
  const std::string& workdir = wd.dir();
  const std::string replay_dir = wd.replay();
  if (absl::Status d = wd.ClearReplay(); !d.ok()) {
    std::cerr << "error: " << d.message() << "\n";
    return kExitRuntime;
  }
  RunOptions opts;
  opts.workdir = workdir;
  opts.num_threads = args.threads;
  opts.progress_interval_s = 10;
  auto summary = RunGraph(**graph, opts);
  if (!summary.ok()) {
    std::cerr << "error: " << summary.status().message() << "\n";
    return kExitRuntime;
  }
  const double peak_mb = PeakRssMb();
  const double cpu_s = CpuSeconds();
  // Counts from the replay's meta; the checksum scans every record (untimed).
  ReplayMeta meta;
  std::string checksum;
  {
    ReplayStoreOptions ro;
    ro.read_only = true;
    auto store = ReplayStore::Open(replay_dir, ro);
    absl::StatusOr<ReplayMeta> m = store.ok() ? (*store)->ReadMeta() : store.status();
    if (m.ok() && args.checksum) {
      auto c = (*store)->ContentChecksum();
      if (c.ok()) {
        checksum = absl::StrFormat(",\"checksum\":\"%016x\"", *c);
      } else {
        m = c.status();
      }
    }
    if (!m.ok()) {
      std::cerr << "error: " << m.status().message() << "\n";
      return kExitRuntime;
    }
    meta = *m;
  }
  const double requests = static_cast<double>(summary->rows["simulate"]);
  const double sim_s = summary->done_seconds["simulate"];
  std::cout << absl::StrFormat(
      "{\"bench\":\"sim\",\"scale\":%g,\"dynamics\":\"%s\",\"users\":%d,\"requests\":%.0f,\"sessions\":%d,"
      "\"transitions\":%d,\"seconds\":%.3f,\"rows_per_s\":%.0f,\"peak_rss_mb\":%.0f,"
      "\"simulation_seconds\":%.3f,\"rest_seconds\":%.3f,\"sessionize_done_s\":%.3f,"
      "\"reward_done_s\":%.3f,\"cpu_seconds\":%.1f%s}\n",
      args.scale, args.dynamics, meta.users(), requests,
      meta.sessions(), meta.transitions(), summary->seconds,
      requests / summary->seconds, peak_mb, sim_s, summary->seconds - sim_s,
      summary->done_seconds["sessionize"], summary->done_seconds["reward"], cpu_s, checksum);
  return kExitOk;
}

int GenLogCommand(const GenLogArgs& a) {
  if (a.rows <= 0 || a.users <= 0 || a.out.empty()) {
    std::cerr << "error: --rows and --users must be > 0 and --out given\n";
    return kExitUsage;
  }
  std::mt19937_64 rng(a.seed);
  // Users get a share of rows from a lognormal activity; sessions of
  // geometric length (mean 4) with 10–300 s between requests; 1–48 h
  // between sessions. Items follow a Zipf-like popularity over 50k items.
  std::lognormal_distribution<double> activity(0, 0.8);
  std::vector<double> share(a.users);
  double total = 0;
  for (auto& s : share) total += (s = activity(rng));
  std::vector<int64_t> user, item, ts;
  user.reserve(a.rows);
  item.reserve(a.rows);
  ts.reserve(a.rows);
  std::geometric_distribution<int> session_len(0.25);
  std::uniform_int_distribution<int> within(10, 300);
  std::lognormal_distribution<double> between(std::log(8.0 * 3600), 0.9);
  std::uniform_real_distribution<double> unif(0, 1);
  const int64_t kItems = 50000;
  for (int64_t u = 0; u < a.users && static_cast<int64_t>(user.size()) < a.rows; ++u) {
    int64_t n = std::max<int64_t>(1, std::llround(a.rows * share[u] / total));
    n = std::min<int64_t>(n, a.rows - static_cast<int64_t>(user.size()));
    if (u == a.users - 1) n = a.rows - static_cast<int64_t>(user.size());
    int64_t t = 1600000000 + static_cast<int64_t>(unif(rng) * 86400 * 7);
    int left_in_session = session_len(rng) + 1;
    for (int64_t k = 0; k < n; ++k) {
      user.push_back(u + 1);
      item.push_back(static_cast<int64_t>(std::pow(unif(rng), 2.0) * kItems) + 1);
      ts.push_back(t);
      if (--left_in_session == 0) {
        t += std::max<int64_t>(3600, static_cast<int64_t>(between(rng)));
        left_in_session = session_len(rng) + 1;
      } else {
        t += within(rng);
      }
    }
  }
  // Unsorted output: rows in random order.
  std::vector<uint32_t> order(user.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::shuffle(order.begin(), order.end(), rng);
  FILE* f = std::fopen(a.out.c_str(), "wb");
  if (f == nullptr) {
    std::cerr << "error: cannot write " << a.out << "\n";
    return kExitRuntime;
  }
  std::string buf = "user,item,timestamp\n";
  buf.reserve(1 << 24);
  char num[32];
  auto put = [&](int64_t v, char sep) {
    auto r = std::to_chars(num, num + sizeof(num), v);
    buf.append(num, r.ptr);
    buf.push_back(sep);
  };
  for (uint32_t i : order) {
    put(user[i], ',');
    put(item[i], ',');
    put(ts[i], '\n');
    if (buf.size() > (1 << 24) - 64) {
      std::fwrite(buf.data(), 1, buf.size(), f);
      buf.clear();
    }
  }
  std::fwrite(buf.data(), 1, buf.size(), f);
  if (std::fclose(f) != 0) {
    std::cerr << "error: writing " << a.out << " failed\n";
    return kExitRuntime;
  }
  std::cout << absl::StrFormat("{\"bench\":\"gen-log\",\"rows\":%d,\"users\":%d,\"out\":\"%s\"}\n",
                               user.size(), a.users, a.out);
  return kExitOk;
}

int BenchTrainCommand(const BenchTrainArgs& args) {
  if (args.rounds < 1) {
    std::cerr << "error: --rounds must be at least 1, got " << args.rounds << "\n";
    return kExitUsage;
  }
  const BenchTrainOptions& o = args.options;
  // The reference is TD3+BC whatever --algo is.
  const std::string python_cmd = absl::StrFormat(
      "/usr/bin/python3 %s/bench/td3_bc_pytorch.py --state-dim %d --action-dim %d --batch %d "
      "--steps %d --threads %d",
      RESACT_SOURCE_DIR, o.state_dim, o.action_dim, o.batch, o.steps, o.threads);
  // With --python, the two alternate round by round, so a slow spell of a
  // shared machine falls on both; the ratio is the median of the rounds'.
  const int rounds = args.python ? args.rounds : 1;
  std::vector<double> ratios, ours_rates, py_rates;
  for (int r = 0; r < rounds; ++r) {
    auto line = BenchTrain(o);
    if (!line.ok()) {
      std::cerr << "error: " << line.status().message() << "\n";
      return line.status().code() == absl::StatusCode::kInvalidArgument ||
                     line.status().code() == absl::StatusCode::kNotFound
                 ? kExitUsage
                 : kExitRuntime;
    }
    std::cout << *line << "\n";
    std::cout.flush();
    if (!args.python) return kExitOk;
    auto out = RunAndCapture(python_cmd);
    const double py = out.ok() ? JsonNumber(*out, "steps_per_s") : 0;
    if (py <= 0) {
      std::cerr << "error: " << python_cmd << " gave no steps_per_s"
                << (out.ok() ? "" : absl::StrCat(": ", out.status().message())) << "\n";
      return kExitRuntime;
    }
    std::cout << *out;
    std::cout.flush();
    const double ours = JsonNumber(*line, "steps_per_s");
    ours_rates.push_back(ours);
    py_rates.push_back(py);
    ratios.push_back(ours / py);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  };
  std::cout << absl::StrFormat(
      "{\"bench\":\"train\",\"algo\":\"%s\",\"pytorch_algo\":\"td3_bc\",\"rounds\":%d,"
      "\"steps_per_s\":%.1f,\"pytorch_steps_per_s\":%.1f,\"ratio_vs_pytorch\":%.2f,"
      "\"ratio_min\":%.2f,\"ratio_max\":%.2f}\n",
      o.algo, rounds, median(ours_rates), median(py_rates), median(ratios),
      *std::min_element(ratios.begin(), ratios.end()),
      *std::max_element(ratios.begin(), ratios.end()));
  return kExitOk;
}

int BenchSampleCommand(const std::string& dir, int batch, int iters) {
  std::string store = dir;
  if (std::filesystem::exists(std::filesystem::path(dir) / "replay")) {
    store = (std::filesystem::path(dir) / "replay").string();
  }
  auto line = BenchSample(store, batch, iters);
  if (!line.ok()) {
    std::cerr << "error: " << line.status().message() << "\n";
    return kExitRuntime;
  }
  std::cout << *line << "\n";
  return kExitOk;
}

int BenchDailyCommand(const BenchDailyArgs& args) {
  if (!(args.scale > 0) || args.days < 1) {
    std::cerr << "error: --scale must be > 0 and --days >= 1\n";
    return kExitUsage;
  }
  SimulatorOptions so;
  so.set_scale(args.scale);
  so.set_seed(1);
  SimulatorOptions::Dynamics dynamics;
  if (!SimulatorOptions::Dynamics_Parse(args.dynamics, &dynamics)) {
    std::cerr << "error: --dynamics must be STATIC or LONG_TERM\n";
    return kExitUsage;
  }
  so.set_dynamics(dynamics);
  if (args.train_steps < 0 || args.behaviour_steps < 1) {
    std::cerr << "error: --train-steps must be >= 0 and --behaviour-steps >= 1\n";
    return kExitUsage;
  }
  const BenchWorkdir wd(args.workdir, "resact_bench_daily");
  const std::string replay_dir = wd.replay();
  if (absl::Status d = wd.ClearReplay(); !d.ok()) {
    std::cerr << "error: " << d.message() << "\n";
    return kExitRuntime;
  }
  // The retraining's registry, runs and history start empty too.
  for (const char* sub : {"models", "daily"}) {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(wd.dir()) / sub, ec);
  }
  DailyRetrainOptions retrain;
  retrain.mutable_learner()->set_algo(args.algo);
  retrain.mutable_learner()->set_steps(args.train_steps);
  retrain.set_recency_half_life_days(3);
  retrain.mutable_behaviour()->set_steps(args.behaviour_steps);
  if (args.train_steps > 0) {
    if (absl::Status c = CheckDailyRetrainOptions(retrain); !c.ok()) {
      std::cerr << "error: " << c.message() << "\n";
      return kExitUsage;
    }
  }
  // The daily job after day `d`: one JSON line.
  auto retrain_after = [&](int d, double ingest_s) -> absl::Status {
    const auto r0 = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(const RetrainRun run, RetrainAfterNewestDay(retrain, wd.dir(), replay_dir));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
    std::cout << absl::StrFormat(
                     "{\"bench\":\"daily_job\",\"day\":%d,\"algo\":\"%s\",\"warm_from\":\"%s\","
                     "\"train_steps\":%d,\"window_transitions\":%d,\"judged_trajectories\":%d,"
                     "\"ingest_seconds\":%.3f,\"retrain_seconds\":%.1f,\"job_seconds\":%.1f,"
                     "\"decision\":\"%s\",\"peak_rss_mb\":%.0f}",
                     d, args.algo, run.champion().empty() ? "-" : run.champion(), run.steps(),
                     run.window_transitions(), run.trajectories(), ingest_s, s, ingest_s + s,
                     run.decision(), PeakRssMb())
              << std::endl;
    return absl::OkStatus();
  };
  std::unique_ptr<tbb::global_control> threads;
  if (args.threads > 0) {
    threads = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    args.threads);
  }
  // The simulated log (pipelines/sim_days.pbtxt's world), split by day.
  const auto t0 = std::chrono::steady_clock::now();
  const SimWorld world(so);
  const int64_t users = world.num_users();
  std::vector<DayRequests> days;
  const int64_t chunk = 2048;
  for (int64_t first = 1; first <= users; first += chunk) {
    const int64_t n = std::min(chunk, users - first + 1);
    std::vector<SimUserLog> logs(n);
    tbb::parallel_for(int64_t{0}, n,
                      [&](int64_t i) { SimulateLoggedUser(world, first + i, &logs[i]); });
    for (int64_t i = 0; i < n; ++i) {
      const SimUserLog& l = logs[i];
      for (size_t r = 0; r < l.item.size(); ++r) {
        const int64_t d = (l.ts_ms[r] / 1000 - so.start_ts()) / 86400;
        if (d >= static_cast<int64_t>(days.size())) days.resize(d + 1);
        DayRequests& day = days[d];
        day.user.push_back(first + i);
        day.item.push_back(l.item[r]);
        day.ts_ms.push_back(l.ts_ms[r]);
        day.feedback.push_back(l.feedback[r]);
        day.logprob.push_back(l.logprob[r]);
      }
    }
  }
  for (size_t d = 0; d < days.size(); ++d) days[d].name = absl::StrFormat("day-%03d", d);
  const double generate_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t requests = 0;
  for (const DayRequests& d : days) requests += d.size();
  std::cerr << absl::StrFormat(
      "bench daily: %d users, %d requests over %d days, simulated in %.1f s\n", users, requests,
      days.size(), generate_s);

  DailyIngestOptions options;
  options.mutable_features()->set_user_features(true);
  options.mutable_features()->set_engagement_features(true);
  const std::shared_ptr<UserFeatureTable> profiles = SimulatedUserProfiles(world);
  ReplayStoreOptions store_options;
  store_options.create = true;
  auto store = ReplayStore::Open(replay_dir, store_options);
  if (!store.ok()) {
    std::cerr << "error: " << store.status().message() << "\n";
    return kExitRuntime;
  }
  const int n_days = std::min<int>(args.days, static_cast<int>(days.size()));
  std::vector<double> seconds;
  for (int d = 0; d < n_days; ++d) {
    auto r = IngestDay(**store, options, world.items(), profiles.get(), days[d]);
    if (!r.ok()) {
      std::cerr << "error: " << days[d].name << ": " << r.status().message() << "\n";
      return kExitRuntime;
    }
    seconds.push_back(r->seconds);
    auto meta = (*store)->ReadMeta();
    std::cout << absl::StrFormat(
                     "{\"bench\":\"daily_day\",\"day\":%d,\"rows\":%d,\"users\":%d,"
                     "\"seconds\":%.3f,"
                     "\"new_sessions\":%d,\"completed_returns\":%d,\"store_transitions\":%d,"
                     "\"peak_rss_mb\":%.0f}",
                     d, r->record.rows(), r->record.users(), r->seconds, r->record.new_sessions(),
                     r->record.completed_returns(), meta.ok() ? meta->transitions() : 0,
                     PeakRssMb())
              << std::endl;
    days[d] = DayRequests();
    if (args.train_steps > 0 && (d == 0 || d == n_days - 1)) {
      // The retraining reads the store: closed for it, as the daily job's
      // stages close it, and opened again for the next day.
      absl::Status st = (*store)->Close();
      store->reset();
      if (st.ok()) st = retrain_after(d, r->seconds);
      if (st.ok() && d + 1 < n_days) {
        store = ReplayStore::Open(replay_dir, store_options);
        st = store.status();
      }
      if (!st.ok()) {
        std::cerr << "error: retraining after " << absl::StrFormat("day-%03d", d) << ": "
                  << st.message() << "\n";
        return kExitRuntime;
      }
    }
  }
  if (*store != nullptr) {
    if (absl::Status c = (*store)->Close(); !c.ok()) {
      std::cerr << "error: " << c.message() << "\n";
      return kExitRuntime;
    }
  }
  auto at = [&](int d) { return d < static_cast<int>(seconds.size()) ? seconds[d] : 0.0; };
  std::cout << absl::StrFormat(
                   "{\"bench\":\"daily\",\"scale\":%g,\"dynamics\":\"%s\",\"users\":%d,"
                   "\"requests\":%d,\"days\":%d,\"generate_seconds\":%.1f,\"day1_seconds\":%.3f,"
                   "\"day2_seconds\":%.3f,\"last_day_seconds\":%.3f,\"day_last_over_day2\":%.2f,"
                   "\"peak_rss_mb\":%.0f}",
                   args.scale, args.dynamics, users, requests, n_days, generate_s, at(0), at(1),
                   seconds.back(), at(1) > 0 ? seconds.back() / at(1) : 0.0, PeakRssMb())
            << std::endl;
  return kExitOk;
}

}  // namespace resact
