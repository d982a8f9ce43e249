#include "stages/replay/replay_writer.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/registry.h"

namespace resact {

absl::Status ReplayWriter::Init() {
  if (options_.dir().empty()) return absl::InvalidArgumentError("field 'dir': must not be empty");
  return absl::OkStatus();
}

StreamContract ReplayWriter::Contract() const {
  StreamContract c;
  c.inputs = {PayloadType::kReplayBatch, PayloadType::kItemEmbeddings};
  c.outputs = {PayloadType::kReplay};
  c.optional_outputs = 1;
  c.max_concurrency = 1;
  return c;
}

absl::Status ReplayWriter::PrepareStore(const std::string& stage_name) {
  const std::string& want = options_.source_fingerprint();
  rewrite_ = false;
  if (ReplayStore::Exists(path_)) {
    bool destroy = false;
    {
      ASSIGN_OR_RETURN(std::unique_ptr<ReplayStore> old, ReplayStore::Open(path_, false));
      absl::StatusOr<ReplayMeta> meta = old->ReadMeta();
      if (meta.ok() && meta->state() == ReplayMeta::COMPLETE) {
        if (meta->source_fingerprint() == want) {
          LOG(INFO) << "replay " << path_ << ": rewriting a COMPLETE replay of the same source ("
                    << meta->transitions() << " transitions); keys are idempotent";
        } else if (options_.overwrite()) {
          LOG(INFO) << "replay " << path_ << ": overwrite=true, replacing a COMPLETE replay of "
                    << meta->transitions() << " transitions";
          destroy = true;
        } else {
          return absl::FailedPreconditionError(absl::StrCat(
              "replay store ", path_, " already holds a COMPLETE replay of ", meta->transitions(),
              " transitions from a different source (source_fingerprint '",
              meta->source_fingerprint(), "', this run '", want, "'); pass --set ", stage_name,
              ".overwrite=true to replace it, or use another --workdir"));
        }
      } else if (meta.ok() && meta->state() == ReplayMeta::WRITING) {
        if (meta->source_fingerprint() == want && !options_.overwrite()) {
          LOG(WARNING) << "replay " << path_
                       << ": resuming an unfinished (WRITING) replay by rewriting it";
        } else {
          LOG(WARNING) << "replay " << path_ << ": discarding an unfinished (WRITING) replay of "
                       << (options_.overwrite() ? "any source (overwrite=true)"
                                                : "a different source");
          destroy = true;
        }
      } else if (meta.ok() || absl::IsNotFound(meta.status())) {
        // No meta (or an unknown state): empty unless something else wrote here.
        ASSIGN_OR_RETURN(uint64_t n, old->CountRecords(ReplayTable::kTransitions));
        if (n > 0 && !options_.overwrite()) {
          return absl::FailedPreconditionError(
              absl::StrCat("replay store ", path_, " holds ", n,
                           " transitions but no valid replay meta; pass --set ", stage_name,
                           ".overwrite=true to replace it, or use another --workdir"));
        }
        destroy = n > 0;
      } else {
        return meta.status();
      }
      RETURN_IF_ERROR(old->Close());
    }
    if (destroy) RETURN_IF_ERROR(ReplayStore::Destroy(path_));
    rewrite_ = !destroy;
  }
  ReplayStoreOptions so;
  so.create = true;
  so.sync = options_.sync();
  so.session_state_float16 = options_.session_state_float16();
  so.ingest_batches = options_.ingest_sst() && !rewrite_;
  ASSIGN_OR_RETURN(store_, ReplayStore::Open(path_, so));
  // Mark the store WRITING before any record, durably: a crash from here on
  // leaves a store that readers refuse and writers resume.
  meta_.Clear();
  seen_users_.clear();
  meta_.set_state(ReplayMeta::WRITING);
  meta_.set_source_fingerprint(want);
  meta_.set_format_version(1);
  meta_.set_session_state_encoding(so.session_state_float16 ? ReplayMeta::FLOAT16
                                                            : ReplayMeta::FLOAT32);
  return store_->WriteMeta(meta_, /*sync=*/true);
}

absl::Status ReplayWriter::Open(const StageContext& ctx) {
  std::filesystem::path p(options_.dir());
  path_ = p.is_absolute() ? p.string() : (std::filesystem::path(ctx.workdir()) / p).string();
  progress_ = &ctx.progress();
  progress_->SetPhase("writing");
  RETURN_IF_ERROR(PrepareStore(ctx.stage_name()));
  LOG(INFO) << "replay writer: store " << path_ << " open" << (options_.sync() ? " (sync)" : "");
  return absl::OkStatus();
}

absl::Status ReplayWriter::Process(int input, const Packet& packet, Emitter& out) {
  (void)out;
  std::lock_guard<std::mutex> lock(mu_);
  if (store_ == nullptr) return absl::FailedPreconditionError("replay writer is not open");
  if (input == 1) {
    const ItemTable& items = packet.Get<ItemTable>();
    if (have_items_ && items.dim != emb_dim_) {
      return absl::InvalidArgumentError(
          absl::StrCat("a second item table has dim ", items.dim, ", the first had ", emb_dim_));
    }
    RETURN_IF_ERROR(store_->WriteItems(items));
    have_items_ = true;
    emb_dim_ = items.dim;
    meta_.set_items(items.size());
    LOG(INFO) << "replay writer: wrote " << items.size() << " items of dim " << items.dim;
    return absl::OkStatus();
  }
  const ReplayBatch& batch = packet.Get<ReplayBatch>();
  if (batch.sessions != nullptr && batch.sessions->num_sessions() > 0) {
    if (session_dim_ != 0 && batch.session_state_dim != session_dim_) {
      return absl::InvalidArgumentError(absl::StrCat("ReplayBatch has session_state_dim ",
                                                     batch.session_state_dim,
                                                     ", earlier batches had ", session_dim_));
    }
    session_dim_ = batch.session_state_dim;
  }
  RETURN_IF_ERROR(store_->WriteBatch(batch, /*replace_users=*/rewrite_));
  AccumulateReplayCounts(batch, &meta_, &seen_users_);
  progress_->AddRows(batch.sessions->num_requests());
  VLOG(1) << "replay writer: " << batch.sessions->num_users() << " users, "
          << batch.sessions->num_requests() << " transitions";
  return absl::OkStatus();
}

absl::Status ReplayWriter::Close(Emitter& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (store_ == nullptr) return absl::FailedPreconditionError("replay writer is not open");
  if (!have_items_) {
    return absl::FailedPreconditionError(
        "no item table arrived on input 1 (item_embeddings); the replay stays WRITING");
  }
  const int static_dim = session_dim_ == 0 ? 0 : session_dim_ - emb_dim_ - 8;
  if (static_dim < 0) {
    return absl::InvalidArgumentError(absl::StrCat("session_state_dim ", session_dim_,
                                                   " is smaller than emb_dim + 8 = ", emb_dim_ + 8,
                                                   " (graph/feature_layout.h)"));
  }
  SetReplayLayout(emb_dim_, static_dim, &meta_);
  FinalizeReplayCounts(&meta_);
  meta_.set_state(ReplayMeta::COMPLETE);
  if (rewrite_) {
    // Users of an earlier write that this run did not write again.
    ASSIGN_OR_RETURN(uint64_t stale, store_->DeleteUsersExcept(seen_users_));
    if (stale > 0) LOG(INFO) << "replay writer: deleted " << stale << " users not written again";
  }
  // Records first, durably in SST files; then the COMPLETE meta, fsynced.
  progress_->SetPhase("flushing");
  const double t_flush = progress_->elapsed_seconds();
  RETURN_IF_ERROR(store_->Flush());
  RETURN_IF_ERROR(store_->WriteMeta(meta_, /*sync=*/true));
  const double t_compact = progress_->elapsed_seconds();
  if (options_.compact_on_close()) {
    progress_->SetPhase("compacting");
    RETURN_IF_ERROR(store_->CompactAll());
  }
  LOG(INFO) << "replay writer: flushed in " << t_compact - t_flush << " s"
            << (options_.compact_on_close()
                    ? absl::StrCat(", compacted in ", progress_->elapsed_seconds() - t_compact, " s")
                    : "");
  RETURN_IF_ERROR(store_->Close());
  store_.reset();
  LOG(INFO) << "replay writer: " << path_ << " COMPLETE: " << meta_.users() << " users ("
            << meta_.test_users() << " test), " << meta_.sessions() << " sessions, "
            << meta_.transitions() << " transitions, " << meta_.items() << " items";
  auto handle = std::make_shared<ReplayHandle>();
  handle->dir = path_;
  return out.Emit(0, PayloadType::kReplay, std::shared_ptr<const ReplayHandle>(handle));
}

RESACT_REGISTER_STAGE(ReplayWriter);

}  // namespace resact
