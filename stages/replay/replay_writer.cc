// ReplayWriter: the sink of the data path; writes ReplayBatch packets and the
// item table into a replay store, replacing the stored replay only once the
// new one is COMPLETE. See replay_writer.h.
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
#include "stages/replay/replay_writer.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "graph/fault.h"
#include "graph/files.h"
#include "graph/registry.h"
#include "stages/features/session_history.h"
#include "storage/replay_batch_format.h"

namespace resact {
namespace fs = std::filesystem;

absl::Status ReplayWriter::Init() {
  if (options_.dir().empty()) return absl::InvalidArgumentError("field 'dir': must not be empty");
  return absl::OkStatus();
}

ReplayWriter::~ReplayWriter() {
  if (!committed_ && !staging_.empty()) DiscardStaging();
}

StreamContract ReplayWriter::Contract() const {
  StreamContract c;
  c.inputs = {PayloadType::kReplayBatch, PayloadType::kItemEmbeddings};
  c.outputs = {PayloadType::kReplay};
  c.optional_outputs = 1;
  c.max_concurrency = 1;
  return c;
}

void ReplayWriter::DiscardStaging() {
  if (store_ != nullptr) {
    absl::Status s = store_->Close();
    if (!s.ok()) VLOG(1) << "closing the unfinished staging store: " << s;
    store_.reset();
  }
  std::error_code ec;
  if (fs::exists(staging_, ec)) {
    fs::remove_all(staging_, ec);
    if (ec) {
      LOG(WARNING) << "replay writer: cannot remove the unfinished staging store " << staging_
                   << ": " << ec.message();
    } else {
      LOG(INFO) << "replay writer: removed the unfinished staging store " << staging_
                << "; the replay at " << path_ << " is unchanged";
    }
  }
}

absl::Status ReplayWriter::CheckExistingStore(const std::string& stage_name) {
  existing_transitions_ = -1;
  const std::string overwrite_hint =
      absl::StrCat("pass --set ", stage_name, ".overwrite=true to replace it, or use another --workdir");
  std::error_code ec;
  if (!fs::exists(path_, ec)) return absl::OkStatus();
  if (!ReplayStore::Exists(path_)) {
    if (fs::is_directory(path_, ec) && fs::is_empty(path_, ec)) return absl::OkStatus();
    // Never replace a folder (or file) that is not a replay store: it may be
    // anything of the user's.
    return absl::FailedPreconditionError(absl::StrCat(
        path_, " exists and is not a replay store; the writer replaces only replay stores. "
               "Remove it, or set ", stage_name, ".dir to another path"));
  }
  ReplayStoreOptions ro;
  ro.read_only = true;
  absl::StatusOr<std::unique_ptr<ReplayStore>> old = ReplayStore::Open(path_, ro);
  absl::StatusOr<ReplayMeta> meta =
      old.ok() ? (*old)->ReadMeta() : absl::StatusOr<ReplayMeta>(old.status());
  if (!meta.ok() && !absl::IsNotFound(meta.status())) {
    if (options_.overwrite()) {
      LOG(WARNING) << "replay " << path_ << " cannot be read (" << meta.status().message()
                   << "); overwrite=true: it will be rebuilt";
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "the replay store ", path_, " cannot be read: ", meta.status().message(),
        "; `resact replay verify ", path_, "` shows what is damaged; pass --set ", stage_name,
        ".overwrite=true to rebuild it"));
  }
  if (absl::IsNotFound(meta.status())) {
    ASSIGN_OR_RETURN(uint64_t n, (*old)->CountRecords(ReplayTable::kTransitions));
    if (n > 0 && !options_.overwrite()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "replay store ", path_, " holds ", n, " transitions but no replay meta; ", overwrite_hint));
    }
    return absl::OkStatus();
  }
  if (meta->format_version() > 1 && !options_.overwrite()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "replay store ", path_, " was written in format version ", meta->format_version(),
        " by a newer resact (this build writes and reads version 1); ", overwrite_hint));
  }
  if (meta->state() != ReplayMeta::COMPLETE) {
    LOG(WARNING) << "replay " << path_ << " is unfinished (state "
                 << ReplayMeta::State_Name(meta->state()) << "); this run replaces it";
    return absl::OkStatus();
  }
  existing_transitions_ = static_cast<int64_t>(meta->transitions());
  if (meta->source_fingerprint() == fingerprint_) {
    LOG(INFO) << "replay " << path_ << ": replacing a COMPLETE replay of the same source ("
              << meta->transitions() << " transitions) once this run is complete";
  } else if (options_.overwrite()) {
    LOG(INFO) << "replay " << path_ << ": overwrite=true: replacing a COMPLETE replay of "
              << meta->transitions() << " transitions from another source once this run is "
              << "complete";
  } else {
    auto describe = [](const std::string& fp, const std::string& desc) {
      if (fp.empty()) return std::string("no recorded source");
      return desc.empty() ? absl::StrCat("fingerprint ", fp)
                          : absl::StrCat(desc, "; fingerprint ", fp);
    };
    return absl::FailedPreconditionError(absl::StrCat(
        "replay store ", path_, " already holds a COMPLETE replay of ", meta->transitions(),
        " transitions from a different source (", describe(meta->source_fingerprint(),
                                                          meta->source_description()),
        ") than this run (", describe(fingerprint_, source_description_), "); ", overwrite_hint));
  }
  return absl::OkStatus();
}

absl::Status ReplayWriter::Open(const StageContext& ctx) {
  fs::path p(options_.dir());
  path_ = p.is_absolute() ? p.string() : (fs::path(ctx.workdir()) / p).string();
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  staging_ = path_ + ".staging";
  stage_name_ = ctx.stage_name();
  progress_ = &ctx.progress();
  progress_->SetPhase("writing");
  fingerprint_ = options_.source_fingerprint().empty() ? ctx.source_fingerprint()
                                                       : options_.source_fingerprint();
  source_description_ = options_.source_fingerprint().empty() ? ctx.source_description()
                                                              : options_.source_fingerprint();
  ASSIGN_OR_RETURN(bool recovered, RecoverReplacedDirectory(path_));
  if (recovered) LOG(WARNING) << "replay " << path_ << ": restored after an interrupted swap";
  RETURN_IF_ERROR(CheckExistingStore(ctx.stage_name()));
  // A staging store left by a killed run was never part of the replay.
  std::error_code ec;
  if (fs::exists(staging_, ec)) {
    LOG(INFO) << "replay writer: removing " << staging_ << ", left by a run that did not finish";
    fs::remove_all(staging_, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot remove the old staging store ", staging_,
                                              ": ", ec.message()));
    }
  }
  ReplayStoreOptions so;
  so.create = true;
  so.sync = options_.sync();
  so.session_state_float16 = options_.session_state_float16();
  so.ingest_batches = options_.ingest_sst();
  ASSIGN_OR_RETURN(store_, ReplayStore::Open(staging_, so));
  // Mark the staging store WRITING before any record, durably: were it ever
  // opened by a reader, it is refused.
  meta_.Clear();
  seen_users_.clear();
  meta_.set_state(ReplayMeta::WRITING);
  meta_.set_source_fingerprint(fingerprint_);
  meta_.set_source_description(source_description_);
  meta_.set_format_version(1);
  meta_.set_session_state_encoding(so.session_state_float16 ? ReplayMeta::FLOAT16
                                                            : ReplayMeta::FLOAT32);
  RETURN_IF_ERROR(store_->WriteMeta(meta_, /*sync=*/true));
  LOG(INFO) << "replay writer: writing " << staging_ << (options_.sync() ? " (sync)" : "")
            << "; it replaces " << path_ << " when complete";
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
  if (batch.has_state_params) {
    const double alpha = batch.state_params.user_ema_alpha;
    if (meta_.has_session_state() && meta_.session_state().user_ema_alpha() != alpha) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ReplayBatch s_h was built with user_ema_alpha ", alpha, ", earlier batches with ",
          meta_.session_state().user_ema_alpha()));
    }
    SetSessionStateParams(batch.state_params, &meta_);
  }
  RETURN_IF_ERROR(store_->WriteBatch(batch));
  FaultPoint("replay.write");
  AccumulateReplayCounts(batch, &meta_, &seen_users_);
  progress_->AddRows(batch.sessions->num_requests());
  VLOG(1) << "replay writer: " << batch.sessions->num_users() << " users, "
          << batch.sessions->num_requests() << " transitions";
  return absl::OkStatus();
}

absl::Status ReplayWriter::Close(Emitter& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (store_ == nullptr) return absl::FailedPreconditionError("replay writer is not open");
  auto handle = std::make_shared<ReplayHandle>();
  handle->dir = path_;
  if (meta_.transitions() == 0) {
    const std::string kept =
        existing_transitions_ >= 0
            ? absl::StrCat("the replay at ", path_, " (", existing_transitions_,
                           " transitions) is unchanged")
            : absl::StrCat("nothing was written to ", path_);
    if (!options_.allow_empty()) {
      DiscardStaging();
      return absl::FailedPreconditionError(
          absl::StrCat("the run brought no transitions (empty input); ", kept, ". Set ",
                       stage_name_, ".allow_empty=true to accept an empty run"));
    }
    if (existing_transitions_ >= 0) {
      DiscardStaging();
      committed_ = true;
      LOG(WARNING) << "replay writer: the run brought no transitions; allow_empty=true: " << kept;
      return out.Emit(0, PayloadType::kReplay, std::shared_ptr<const ReplayHandle>(handle));
    }
    LOG(WARNING) << "replay writer: the run brought no transitions; allow_empty=true: writing "
                 << "an empty replay";
  }
  if (!have_items_) {
    return absl::FailedPreconditionError(
        "no item table arrived on input 1 (item_embeddings); the replay is not written");
  }
  FeatureLayout layout;
  layout.emb_dim = emb_dim_;
  layout.engagement_dim =
      meta_.session_state().engagement() ? FeatureLayout::kEngagementDim : 0;
  const int base = layout.session_dim();
  layout.static_user_dim = session_dim_ == 0 ? 0 : session_dim_ - base;
  if (layout.static_user_dim < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "session_state_dim ", session_dim_, " is smaller than emb_dim + 8",
        layout.engagement_dim > 0 ? " + 3 engagement features" : "", " = ", base,
        " (storage/feature_layout.h)"));
  }
  SetReplayLayout(layout, &meta_);
  FinalizeReplayCounts(&meta_);
  meta_.set_state(ReplayMeta::COMPLETE);
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
  // The one step that makes this run's replay the replay.
  FaultPoint("replay.before_swap");
  RETURN_IF_ERROR(ReplaceDirectory(staging_, path_));
  committed_ = true;
  LOG(INFO) << "replay writer: " << path_ << " COMPLETE: " << meta_.users() << " users ("
            << meta_.test_users() << " test), " << meta_.sessions() << " sessions, "
            << meta_.transitions() << " transitions, " << meta_.items() << " items";
  return out.Emit(0, PayloadType::kReplay, std::shared_ptr<const ReplayHandle>(handle));
}

RESACT_REGISTER_STAGE(ReplayWriter);

}  // namespace resact
