// Fault points for crash tests: named places in the code where a test can
// have the process killed with SIGKILL, as a power cut or an OOM kill would,
// to check that a re-run loses and duplicates nothing. Enabled only by the
// environment variable RESACT_FAULT (set by `resact run --fault NAME[:N]`,
// and inherited by child processes): "NAME" kills at the first pass through
// FaultPoint("NAME"), "NAME:N" at the N-th. Without it a fault point costs
// one relaxed atomic load.
//
// The points (see README, Reliability):
//   ingest.batch          a reader emitted a batch of rows
//   replay.write          the replay writer stored a packet
//   replay.before_swap    the staging replay is COMPLETE, not yet in place
//   dir.exchanged         a new replay or model folder is in place, the old
//                         one (now at the staging path) not yet removed
//   train.checkpoint      a learner wrote a checkpoint
//   train.step            a learner finished a gradient step
//   model.save            a model's files are written, not yet in place
//   model.add             a registry version is staged, not yet in place
//   model.promote         the new CHAMPION is durable, not yet renamed over
//                         the old one (storage/model_registry.h)
//   daily.ingest          a day's records are encoded, not yet written
//                         (stages/replay/daily_ingest.h)
//   daily.ingested        a day is written, the run not yet finished
//   retrain.judge         a challenger is a registry version, not yet judged
//                         (stages/retrain/daily_retrain.h)
//   retrain.promoted      the decision is in place, the history row not yet
//   loop.served           a closed-loop day's server is recorded and the day
//                         lived, its log not yet ingested
//                         (stages/retrain/closed_loop.h)
//
// Example:
//   FaultPoint("replay.before_swap");
#pragma once

namespace resact {

// Kills the process (SIGKILL) when RESACT_FAULT names `name` and this is
// the pass it names; otherwise returns at once. Thread-safe.
void FaultPoint(const char* name);

}  // namespace resact
