// Maps a BuiltGraph onto a tbb::flow::graph: one function_node per non-source
// stage, with the stage's concurrency. Sources run on their own threads and
// block when their in-flight budget is spent, so memory stays flat however
// large the input. A packet's in-flight token is shared by every packet
// derived from it and released when the last of them is dropped.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/dir_lock.h"
#include "graph/runner.h"
#include "graph/progress.h"
#include "graph/spec.h"
#include "tbb/flow_graph.h"
#include "tbb/global_control.h"
#include "tbb/task_arena.h"

namespace resact {
namespace {

namespace flow = tbb::flow;

// Counts packets in flight from one emitter and blocks it at the limit.
class InFlight {
 public:
  InFlight(int limit, const std::atomic<bool>* cancelled) : limit_(limit), cancelled_(cancelled) {}
  // Waits for a free slot; false when the run was cancelled.
  bool Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return count_ < limit_ || cancelled_->load(); });
    if (cancelled_->load()) return false;
    ++count_;
    return true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --count_;
    }
    cv_.notify_all();
  }
  void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
  const int limit_;
  const std::atomic<bool>* cancelled_;
};

struct Token {
  explicit Token(InFlight* owner) : owner(owner) {}
  ~Token() { owner->Release(); }
  InFlight* owner;
};

struct Tagged {
  int input = 0;
  Packet packet;
};

class Runner {
 public:
  Runner(BuiltGraph& g, const RunOptions& opts)
      : g_(g),
        opts_(opts),
        done_(new std::atomic<bool>[g.stages.size()]),
        active_(new std::atomic<int>[g.stages.size()]),
        producers_(g.stages.size()),
        display_(ProgressDisplay::ForStderr()) {
    for (size_t i = 0; i < g_.stages.size(); ++i) {
      progress_.push_back(std::make_unique<Progress>());
      inflight_.push_back(
          std::make_unique<InFlight>(g_.stages[i].spec.max_in_flight(), &cancelled_));
      done_[i].store(false);
      active_[i].store(0);
    }
    for (const auto& [name, info] : g_.streams) {
      for (auto [consumer, input] : info.consumers) {
        if (info.producer >= 0) producers_[consumer].push_back(info.producer);
      }
    }
  }

  absl::StatusOr<RunSummary> Run();

  void RecordError(int stage, const absl::Status& s) {
    {
      std::lock_guard<std::mutex> lock(error_mu_);
      if (error_.ok()) {
        error_ = Annotate(s, StagePrefix(g_.stages[stage].spec));
      }
    }
    cancelled_.store(true);
    for (auto& f : inflight_) f->Wake();
    if (flow_ != nullptr) flow_->cancel();
  }

  // Sends a packet on output `output` of stage `stage` to every consumer.
  absl::Status Send(int stage, int output, Packet packet) {
    if (cancelled_.load()) return absl::CancelledError("run cancelled");
    const BuiltStage& b = g_.stages[stage];
    if (output < 0 || output >= static_cast<int>(b.contract.outputs.size())) {
      return absl::InternalError(absl::StrCat("emitted on undeclared output ", output));
    }
    if (packet.type != b.contract.outputs[output]) {
      return absl::InternalError(absl::StrCat("emitted ", PayloadTypeName(packet.type),
                                              " on output ", output, " declared as ",
                                              PayloadTypeName(b.contract.outputs[output])));
    }
    if (output >= b.spec.output_stream_size()) return absl::OkStatus();  // Unwired, optional.
    const StreamInfo& info = g_.output_stream(stage, output);
    for (auto [consumer, input] : info.consumers) {
      nodes_[consumer]->try_put(Tagged{input, packet});
    }
    return absl::OkStatus();
  }

 private:
  // Emitter used inside Process(): derived packets share the input's token.
  class DerivedEmitter : public Emitter {
   public:
    DerivedEmitter(Runner* r, int stage, std::shared_ptr<void> token)
        : r_(r), stage_(stage), token_(std::move(token)) {}
    absl::Status Emit(int output, Packet packet) override {
      packet.token = token_;
      return r_->Send(stage_, output, std::move(packet));
    }

   private:
    Runner* r_;
    int stage_;
    std::shared_ptr<void> token_;
  };

  // Emitter used by Generate() and Close(): each packet takes a new token
  // from the stage's in-flight budget, blocking when it is spent.
  class BudgetEmitter : public Emitter {
   public:
    BudgetEmitter(Runner* r, int stage) : r_(r), stage_(stage) {}
    absl::Status Emit(int output, Packet packet) override {
      InFlight* budget = r_->inflight_[stage_].get();
      if (!budget->Acquire()) return absl::CancelledError("run cancelled");
      packet.token = std::make_shared<Token>(budget);
      return r_->Send(stage_, output, std::move(packet));
    }

   private:
    Runner* r_;
    int stage_;
  };

  // One progress update of the stages still working (elapsed_s into the run).
  void ReportProgress(double elapsed_s);
  // The "[stage] done: ..." lines after a run.
  void ReportSummary();
  bool ShowProgress() const { return opts_.progress_interval_s > 0 && !opts_.quiet; }

  BuiltGraph& g_;
  RunOptions opts_;
  std::atomic<bool> cancelled_{false};
  std::mutex error_mu_;
  absl::Status error_;
  std::vector<std::unique_ptr<Progress>> progress_;
  // Per stage: its work is over (Generate() or Close() returned).
  std::unique_ptr<std::atomic<bool>[]> done_;
  // Per stage: Process() calls running now.
  std::unique_ptr<std::atomic<int>[]> active_;
  // Per stage: the stages producing its inputs.
  std::vector<std::vector<int>> producers_;
  // Whether stage i is working: a source until Generate() returns; another
  // stage while its input may still come (a producer is not done), while a
  // Process() runs, or while it closes. A stage that handled its input and
  // waits for its Close() is idle and not shown.
  bool Working(int i) const {
    if (done_[i].load()) return false;
    if (g_.stages[i].contract.inputs.empty() || active_[i].load() > 0) return true;
    for (int p : producers_[i]) {
      if (!done_[p].load()) return true;
    }
    return closing_.load() == i;
  }
  std::atomic<int> closing_{-1};  // The stage whose Close() runs.
  ProgressDisplay display_;
  std::vector<std::unique_ptr<InFlight>> inflight_;
  std::vector<std::unique_ptr<StageContext>> contexts_;
  RunSources sources_;
  flow::graph* flow_ = nullptr;
  std::vector<std::unique_ptr<flow::function_node<Tagged, flow::continue_msg>>> nodes_;
};

void Runner::ReportProgress(double elapsed_s) {
  std::vector<StageProgress> stages;
  for (int i : g_.topo_order) {
    const Progress& p = *progress_[i];
    StageProgress sp;
    sp.name = g_.stages[i].spec.name();
    sp.started = p.started();
    sp.done = !Working(i);
    if (sp.started && !sp.done) sp.line = p.Line();
    stages.push_back(std::move(sp));
  }
  display_.Update(elapsed_s, stages);
}

void Runner::ReportSummary() {
  display_.Clear();
  for (int i : g_.topo_order) {
    display_.WriteLine(
        absl::StrCat("[", g_.stages[i].spec.name(), "] done: ", progress_[i]->Line()));
  }
}

absl::StatusOr<RunSummary> Runner::Run() {
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  std::filesystem::create_directories(opts_.workdir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create workdir '", opts_.workdir, "': ", ec.message()));
  }
  // One writer per workdir: a second run on it fails here, naming the first.
  ASSIGN_OR_RETURN(std::unique_ptr<DirLock> lock,
                   DirLock::Acquire(opts_.workdir, absl::StrCat("pipeline '", g_.spec.name(), "'")));
  const int threads =
      opts_.num_threads > 0 ? opts_.num_threads : static_cast<int>(std::thread::hardware_concurrency());
  // Sources and Close() run outside the arena; allow the arena its own workers.
  tbb::global_control workers(tbb::global_control::max_allowed_parallelism, threads + 1);
  tbb::task_arena arena(threads, 0);

  for (size_t i = 0; i < g_.stages.size(); ++i) {
    contexts_.push_back(std::make_unique<StageContext>(
        g_.stages[i].spec.name(), opts_.workdir, progress_[i].get(), &cancelled_, &sources_));
  }
  for (int i : g_.topo_order) {
    absl::Status s = g_.stages[i].stage->Open(*contexts_[i]);
    if (!s.ok()) return Annotate(s, StagePrefix(g_.stages[i].spec));
  }

  flow::graph* flow_graph = nullptr;
  arena.execute([&] {
    flow_graph = new flow::graph();
    nodes_.resize(g_.stages.size());
    for (size_t i = 0; i < g_.stages.size(); ++i) {
      BuiltStage& b = g_.stages[i];
      if (b.contract.inputs.empty()) continue;
      size_t concurrency = b.concurrency == 0 ? flow::unlimited : static_cast<size_t>(b.concurrency);
      const int idx = static_cast<int>(i);
      nodes_[i] = std::make_unique<flow::function_node<Tagged, flow::continue_msg>>(
          *flow_graph, concurrency, [this, idx](const Tagged& t) {
            if (cancelled_.load()) return flow::continue_msg();
            DerivedEmitter em(this, idx, t.packet.token);
            absl::Status s;
            active_[idx].fetch_add(1);
            try {
              s = g_.stages[idx].stage->Process(t.input, t.packet, em);
            } catch (const std::exception& e) {
              s = absl::InternalError(absl::StrCat("exception: ", e.what()));
            }
            active_[idx].fetch_sub(1);
            if (!s.ok() && !absl::IsCancelled(s)) RecordError(idx, s);
            return flow::continue_msg();
          });
    }
  });
  std::unique_ptr<flow::graph> owned_graph(flow_graph);
  flow_ = flow_graph;

  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;
  std::thread reporter;
  if (ShowProgress()) {
    reporter = std::thread([&] {
      std::unique_lock<std::mutex> lock(done_mu);
      while (!done_cv.wait_for(lock, std::chrono::duration<double>(opts_.progress_interval_s),
                               [&] { return done; })) {
        ReportProgress(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      display_.Clear();
    });
  }

  auto call = [&](int i, auto&& fn) {
    absl::Status s;
    try {
      s = fn();
    } catch (const std::exception& e) {
      s = absl::InternalError(absl::StrCat("exception: ", e.what()));
    }
    if (!s.ok() && !absl::IsCancelled(s)) RecordError(i, s);
  };

  auto since_start = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> done_s(g_.stages.size(), 0);
  // Sources, each on its own thread.
  std::vector<std::thread> sources;
  for (int i : g_.topo_order) {
    if (!g_.stages[i].contract.inputs.empty()) continue;
    sources.emplace_back([&, i] {
      BudgetEmitter em(this, i);
      call(i, [&] { return g_.stages[i].stage->Generate(em); });
      done_s[i] = since_start();
      done_[i].store(true);
    });
  }
  for (auto& t : sources) t.join();
  arena.execute([&] { flow_graph->wait_for_all(); });

  // Close in topological order; each stage's flushed packets are fully
  // processed before the next stage closes.
  for (int i : g_.topo_order) {
    if (cancelled_.load()) break;
    BudgetEmitter em(this, i);
    closing_.store(i);
    call(i, [&] { return g_.stages[i].stage->Close(em); });
    closing_.store(-1);
    // Its own work is over; what it emitted is the consumers' work.
    done_[i].store(true);
    arena.execute([&] { flow_graph->wait_for_all(); });
    done_s[i] = std::max(done_s[i], since_start());
  }
  {
    std::lock_guard<std::mutex> lock(done_mu);
    done = true;
  }
  done_cv.notify_all();
  if (reporter.joinable()) reporter.join();
  nodes_.clear();
  flow_ = nullptr;
  owned_graph.reset();
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (!error_.ok()) return error_;
  }
  if (ShowProgress()) ReportSummary();
  RunSummary summary;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (size_t i = 0; i < g_.stages.size(); ++i) {
    summary.rows[g_.stages[i].spec.name()] = progress_[i]->rows();
    summary.done_seconds[g_.stages[i].spec.name()] = done_s[i];
  }
  return summary;
}

}  // namespace

absl::StatusOr<RunSummary> RunGraph(BuiltGraph& graph, const RunOptions& options) {
  Runner runner(graph, options);
  return runner.Run();
}

}  // namespace resact
