// ReplayWriter: the sink of the data path. It writes every ReplayBatch packet
// (rewarded sessions with their session states s_h and item rows) into a
// RocksDB replay store (storage/replay_store.h), one atomic write per packet
// (into a fresh store, as SST files ingested at once: `ingest_sst`), and the
// item table that defines the action space. Close() writes the
// ReplayMeta (layout, counts, split, reward statistics) with state COMPLETE.
// Keys depend on the data only, so a crashed run (store left WRITING) is
// resumed by running again, and re-running the same source rewrites the same
// keys; when writing over an existing store, each user's records are replaced
// as a whole and users not written again are deleted at Close, so the result
// always equals a fresh write. A COMPLETE store from a different source
// (source_fingerprint) is never replaced unless `overwrite` is set. Learners and evaluators read
// the store with storage/replay_reader.h; `resact replay stats DIR` summarizes it.
//
// Inputs: 0 replay_batch (ReplayBatch), 1 item_embeddings (ItemTable).
// Output (optional, may be left unwired): 0 replay (ReplayHandle), emitted
// once by Close() when the store is COMPLETE, so learners and evaluators can
// follow in the same spec. Serial.
//
// Example:
//   stage {
//     name: "replay" type: "ReplayWriter"
//     input_stream: "replay_batches" input_stream: "item_embeddings"
//     output_stream: "replay_ready"   # optional
//     options { [type.googleapis.com/resact.ReplayWriterOptions] {
//       dir: "replay" sync: false overwrite: false
//     } }
//   }
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "graph/stage.h"
#include "stages/replay/replay_options.pb.h"
#include "storage/replay.pb.h"
#include "storage/replay_store.h"

namespace resact {

class ReplayWriter : public StageWithOptions<ReplayWriterOptions> {
 public:
  StreamContract Contract() const override;
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;
  absl::Status Close(Emitter& out) override;

  // The store directory (valid after Open).
  const std::string& path() const { return path_; }

 protected:
  absl::Status Init() override;

 private:
  absl::Status PrepareStore(const std::string& stage_name);

  std::mutex mu_;
  std::string path_;
  std::unique_ptr<ReplayStore> store_;
  Progress* progress_ = nullptr;
  ReplayMeta meta_;                          // Counts accumulated by this run.
  absl::flat_hash_set<int64_t> seen_users_;  // Users counted in meta_.
  bool have_items_ = false;
  // Writing over an existing store (resume or same-source rewrite): users are
  // replaced as a whole and users not written again are deleted at Close.
  bool rewrite_ = false;
  int emb_dim_ = 0;
  int session_dim_ = 0;  // 0 until the first non-empty batch.
};

}  // namespace resact
