// ReplayWriter: the sink of the data path. It writes every ReplayBatch packet
// (rewarded sessions with their session states s_h and item rows) into a
// RocksDB replay store (storage/replay_store.h), one atomic write per packet
// (as SST files ingested at once: `ingest_sst`), and the item table that
// defines the action space. Close() writes the ReplayMeta (layout, how s_h
// was built, counts, split, reward statistics, source) with state COMPLETE.
//
// Nothing stored is lost: every run writes a fresh store at DIR.staging and,
// only once it is COMPLETE, puts it in the place of DIR in one atomic step
// (graph/files.h ReplaceDirectory). A run that fails (a malformed row, a full
// disk) or is killed leaves the earlier replay exactly as it was; the staging
// store is removed by the failed run or by the next one. Keys depend on the
// data only, so re-running the same source gives the same store. Before
// writing, Open() checks the store already at DIR: a COMPLETE replay from a
// different source (source_fingerprint, derived from the run's inputs) or
// one that cannot be opened is replaced only with `overwrite`; a run that
// brings no transitions is an error unless `allow_empty`, and never replaces
// a stored replay. Learners and evaluators read the store with
// storage/replay_reader.h; `resact replay stats DIR` summarizes it and
// `resact replay verify DIR` checks its checksums.
//
// Inputs: 0 replay_batch (ReplayBatch), 1 item_embeddings (ItemTable).
// Output (optional, may be left unwired): 0 replay (ReplayHandle), emitted
// once by Close() when the store is COMPLETE, so learners and evaluators can
// follow in the same spec. Serial.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "graph/stage.h"
#include "stages/replay/replay_options.pb.h"
#include "storage/replay.pb.h"
#include "storage/replay_store.h"

namespace resact {

class ReplayWriter : public StageWithOptions<ReplayWriterOptions> {
 public:
  ~ReplayWriter() override;
  StreamContract Contract() const override;
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;
  absl::Status Close(Emitter& out) override;

  // The store directory (valid after Open).
  const std::string& path() const { return path_; }

 protected:
  absl::Status Init() override;

 private:
  // Checks the store already at path_ against this run (source, state,
  // damage); sets existing_transitions_.
  absl::Status CheckExistingStore(const std::string& stage_name);
  // Closes and removes the staging store of a run that did not finish.
  void DiscardStaging();

  std::mutex mu_;
  std::string path_;
  std::string staging_;  // path_ + ".staging"
  std::string stage_name_;
  std::string fingerprint_;
  std::string source_description_;
  // Transitions of the COMPLETE replay at path_ before this run; -1 if none.
  int64_t existing_transitions_ = -1;
  std::unique_ptr<ReplayStore> store_;  // The staging store while writing.
  bool committed_ = false;
  Progress* progress_ = nullptr;
  ReplayMeta meta_;                          // Counts accumulated by this run.
  absl::flat_hash_set<int64_t> seen_users_;  // Users counted in meta_.
  bool have_items_ = false;
  int emb_dim_ = 0;
  int session_dim_ = 0;  // 0 until the first non-empty batch.
};

}  // namespace resact
