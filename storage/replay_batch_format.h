// A ReplayBatch as the replay store's format sees it (storage/replay_format.h
// has the keys and value codecs): the checks a batch must pass, its encoding
// into the records of the transitions, sessions and users tables, and the
// counts, split and histograms it adds to the ReplayMeta. No rocksdb here.
//
// A packet's path through the ReplayWriter (stages/replay/replay_writer.cc):
// ReplayStore::WriteBatch (ValidateReplayBatch, then EncodeReplayBatch into a
// write batch or into SST files, storage/replay_ingest.cc), then
// AccumulateReplayCounts into the meta; at the end SetReplayLayout and
// FinalizeReplayCounts before the COMPLETE meta is written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "graph/payload.h"
#include "storage/feature_layout.h"
#include "storage/replay.pb.h"
#include "storage/replay_format.h"

namespace resact {

// Checks that the columns of a ReplayBatch have consistent sizes and that
// requests are in time order within sessions. InvalidArgument otherwise.
absl::Status ValidateReplayBatch(const ReplayBatch& batch);

// Receives one encoded record: its table, key and value.
using ReplayRecordSink =
    absl::FunctionRef<absl::Status(ReplayTable, const std::string& key, const std::string& value)>;

// Encodes every record of users [u_begin, u_end) of a validated `batch`,
// calling put(table, key, value) per record: for each user (in batch order)
// its sessions, each followed by its transitions, then the user record. s_h
// is stored as float16 when `float16`. Within one table, keys come in
// ascending order when the users are in key order. Stops at put's first
// error.
absl::Status EncodeReplayBatch(const ReplayBatch& batch, bool float16, size_t u_begin,
                               size_t u_end, ReplayRecordSink put);

// InvalidArgument when an item table is malformed (its embedding is not
// items × dim floats).
absl::Status ValidateItemTable(const ItemTable& items);
// Encodes the records of the item table (row i under ReplayItemKey(i)),
// calling put(kItems, key, value) per row; ValidateItemTable's error first.
absl::Status EncodeItemTable(const ItemTable& items, ReplayRecordSink put);

// Adds a batch's counts, split, presence flags, time range (first and last
// request) and reward histograms into
// `meta` (order-independent; call FinalizeReplayCounts before writing).
// When `seen` is given, users already in it are skipped (a rewritten user
// overwrites the same keys, so it must not be counted twice) and new users
// are added to it.
void AccumulateReplayCounts(const ReplayBatch& batch, ReplayMeta* meta,
                            absl::flat_hash_set<int64_t>* seen = nullptr);
// Sorts the test-user list and sets has_feedback / has_behaviour_logprob.
void FinalizeReplayCounts(ReplayMeta* meta);
// The meta layout fields for `layout`.
void SetReplayLayout(const FeatureLayout& layout, ReplayMeta* meta);
// The layout the meta records (engagement_dim 0 in stores written before it).
FeatureLayout ReplayLayoutOf(const ReplayMeta& meta);

}  // namespace resact
