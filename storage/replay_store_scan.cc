// The replay store's cursors and full scans (storage/replay_store.h): a
// cursor per column family, the ForEach visitors, the content checksum and
// record counts.
#include <functional>
#include <memory>

#include "absl/strings/str_cat.h"
#include "graph/status.h"
#include "storage/replay_store.h"
#include "storage/replay_store_impl.h"

namespace resact {

struct ReplayStore::Cursor::Impl {
  std::string dir;
  ReplayTable table;
  std::shared_ptr<DbHolder> holder;  // Declared before `it`: outlives it.
  std::unique_ptr<rocksdb::Iterator> it;

  absl::Status Bad(absl::string_view what) const {
    return absl::DataLossError(
        absl::StrCat("replay store ", dir, ": malformed ", ReplayTableName(table), " ", what));
  }
};

ReplayStore::Cursor::Cursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReplayStore::Cursor::~Cursor() = default;
void ReplayStore::Cursor::SeekToFirst() { impl_->it->SeekToFirst(); }
void ReplayStore::Cursor::Seek(absl::string_view key) {
  impl_->it->Seek(rocksdb::Slice(key.data(), key.size()));
}
bool ReplayStore::Cursor::Valid() const { return impl_->it->Valid(); }
void ReplayStore::Cursor::Next() { impl_->it->Next(); }
absl::string_view ReplayStore::Cursor::key() const {
  rocksdb::Slice k = impl_->it->key();
  return absl::string_view(k.data(), k.size());
}
absl::string_view ReplayStore::Cursor::value() const {
  rocksdb::Slice v = impl_->it->value();
  return absl::string_view(v.data(), v.size());
}
absl::Status ReplayStore::Cursor::status() const {
  return FromRocks(impl_->it->status(), impl_->dir,
                   absl::StrCat("iterating ", ReplayTableName(impl_->table)));
}

template <class Rec>
absl::Status ReplayStore::Cursor::Get(Rec* r) const {
  if (!SetRecordKey(key(), r)) return impl_->Bad("key");
  if (!DecodeRecordValue(value(), r)) return impl_->Bad("value");
  return absl::OkStatus();
}
template absl::Status ReplayStore::Cursor::Get(ReplayTransitionRecord* r) const;
template absl::Status ReplayStore::Cursor::Get(ReplaySessionRecord* r) const;
template absl::Status ReplayStore::Cursor::Get(ReplayUserRecord* r) const;
template absl::Status ReplayStore::Cursor::Get(ReplayItemRecord* r) const;

std::unique_ptr<ReplayStore::Cursor> ReplayStore::NewCursor(ReplayTable table,
                                                            bool short_scans) const {
  auto impl = std::make_unique<Cursor::Impl>();
  impl->dir = impl_->dir;
  impl->table = table;
  impl->holder = impl_->holder;
  if (impl_->db == nullptr) {
    impl->it.reset(rocksdb::NewErrorIterator(rocksdb::Status::Aborted("the store is closed")));
  } else {
    rocksdb::ReadOptions ro;
    ro.readahead_size = short_scans ? 0 : 2 << 20;
    ro.fill_cache = short_scans;
    impl->it.reset(impl_->db->NewIterator(ro, impl_->cf(table)));
  }
  return std::unique_ptr<Cursor>(new Cursor(std::move(impl)));
}

namespace {

template <class Rec>
absl::Status ForEach(const ReplayStore& store, ReplayTable t,
                     const std::function<absl::Status(const Rec&)>& fn) {
  return Guarded(store.dir(), "scan", [&]() -> absl::Status {
    auto c = store.NewCursor(t);
    Rec rec;
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      RETURN_IF_ERROR(c->Get(&rec));
      RETURN_IF_ERROR(fn(rec));
    }
    return c->status();
  });
}

}  // namespace

absl::Status ReplayStore::ForEachUser(
    const std::function<absl::Status(const ReplayUserRecord&)>& fn) const {
  return ForEach<ReplayUserRecord>(*this, ReplayTable::kUsers, fn);
}
absl::Status ReplayStore::ForEachSession(
    const std::function<absl::Status(const ReplaySessionRecord&)>& fn) const {
  return ForEach<ReplaySessionRecord>(*this, ReplayTable::kSessions, fn);
}
absl::Status ReplayStore::ForEachTransition(
    const std::function<absl::Status(const ReplayTransitionRecord&)>& fn) const {
  return ForEach<ReplayTransitionRecord>(*this, ReplayTable::kTransitions, fn);
}
absl::Status ReplayStore::ForEachItem(
    const std::function<absl::Status(const ReplayItemRecord&)>& fn) const {
  return ForEach<ReplayItemRecord>(*this, ReplayTable::kItems, fn);
}

absl::StatusOr<uint64_t> ReplayStore::ContentChecksum() const {
  return Guarded(impl_->dir, "checksum", [&]() -> absl::StatusOr<uint64_t> {
    // FNV-1a over (table, key length, key, value length, value) in key order.
    uint64_t h = 1469598103934665603ULL;
    auto mix = [&h](const void* p, size_t n) {
      const auto* b = static_cast<const unsigned char*>(p);
      for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
    };
    for (ReplayTable t : {ReplayTable::kTransitions, ReplayTable::kSessions, ReplayTable::kUsers,
                          ReplayTable::kItems}) {
      const uint8_t id = static_cast<uint8_t>(t);
      mix(&id, 1);
      auto c = NewCursor(t);
      for (c->SeekToFirst(); c->Valid(); c->Next()) {
        const uint32_t kl = c->key().size(), vl = c->value().size();
        mix(&kl, 4);
        mix(c->key().data(), kl);
        mix(&vl, 4);
        mix(c->value().data(), vl);
      }
      RETURN_IF_ERROR(c->status());
    }
    return h;
  });
}

absl::StatusOr<uint64_t> ReplayStore::CountRecords(ReplayTable table) const {
  return Guarded(impl_->dir, "count", [&]() -> absl::StatusOr<uint64_t> {
    uint64_t n = 0;
    auto c = NewCursor(table);
    for (c->SeekToFirst(); c->Valid(); c->Next()) ++n;
    RETURN_IF_ERROR(c->status());
    return n;
  });
}

}  // namespace resact
