#include "tests/graph/test_stages.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "graph/registry.h"
#include "tests/graph/test_stages.pb.h"

namespace resact::testing {

TestCounters& Counters() {
  static TestCounters* c = new TestCounters();
  return *c;
}

// Emits `batches` RequestBatches of `rows` rows; user = row number.
class TestSource : public StageWithOptions<TestSourceOptions> {
 public:
  StreamContract Contract() const override { return {{}, {PayloadType::kRequests}}; }
  absl::Status Generate(Emitter& out) override {
    int64_t next = 0;
    for (int b = 0; b < options_.batches(); ++b) {
      auto* raw = new RequestBatch();
      for (int r = 0; r < options_.rows(); ++r) {
        raw->user.push_back(next);
        raw->item.push_back(next % 7);
        raw->ts_ms.push_back(next * 1000);
        ++next;
      }
      int live = ++Counters().live_payloads;
      int prev = Counters().max_live_payloads.load();
      while (live > prev && !Counters().max_live_payloads.compare_exchange_weak(prev, live)) {
      }
      std::shared_ptr<const RequestBatch> batch(raw, [](const RequestBatch* p) {
        --Counters().live_payloads;
        delete p;
      });
      RETURN_IF_ERROR(out.Emit(0, PayloadType::kRequests, batch));
    }
    return absl::OkStatus();
  }
};
RESACT_REGISTER_STAGE(TestSource);

// Passes packets through; can fail at the n-th packet and sleep per packet.
// Counts its rows on the progress display.
class TestPass : public StageWithOptions<TestPassOptions> {
 public:
  StreamContract Contract() const override {
    return {{PayloadType::kRequests}, {PayloadType::kRequests}, 0};
  }
  absl::Status Open(const StageContext& ctx) override {
    ctx_ = &ctx;
    return absl::OkStatus();
  }
  absl::Status Process(int, const Packet& p, Emitter& out) override {
    ctx_->progress().AddRows(p.Get<RequestBatch>().size());
    const int n = ++seen_;
    if (options_.sleep_us() > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(options_.sleep_us()));
    }
    if (options_.fail_at() > 0 && n == options_.fail_at()) {
      return absl::DataLossError(absl::StrCat("planted failure at packet ", n));
    }
    return out.Emit(0, p);
  }

 private:
  const StageContext* ctx_ = nullptr;
  std::atomic<int> seen_{0};
};
RESACT_REGISTER_STAGE(TestPass);

// Counts rows into Counters().sink_rows[name] and, before its sleep, on the
// progress display.
class TestSink : public StageWithOptions<TestPassOptions> {
 public:
  StreamContract Contract() const override { return {{PayloadType::kRequests}, {}, 0}; }
  absl::Status Open(const StageContext& ctx) override {
    name_ = ctx.stage_name();
    ctx_ = &ctx;
    return absl::OkStatus();
  }
  absl::Status Process(int, const Packet& p, Emitter&) override {
    ctx_->progress().AddRows(p.Get<RequestBatch>().size());
    if (options_.sleep_us() > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(options_.sleep_us()));
    }
    std::lock_guard<std::mutex> lock(Counters().mu);
    Counters().sink_rows[name_] += p.Get<RequestBatch>().size();
    return absl::OkStatus();
  }

 private:
  std::string name_;
  const StageContext* ctx_ = nullptr;
};
RESACT_REGISTER_STAGE(TestSink);

}  // namespace resact::testing
