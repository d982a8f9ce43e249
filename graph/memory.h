// Returning freed heap memory to the operating system. A stage that frees a
// large buffer it will not need again (e.g. Sessionize after sorting a
// partition) calls ReleaseFreedMemory(), so the freed pages stop counting
// towards the process's resident memory. Without it, glibc keeps freed
// memory in the arena of the thread that allocated it, where other threads
// cannot reuse it, and peak RSS grows with every hand-over between threads.
#pragma once

namespace resact {

// Releases free heap pages of every malloc arena (glibc malloc_trim); a no-op
// with other allocators. Costs a few milliseconds; call it after freeing
// hundreds of megabytes, not per packet.
void ReleaseFreedMemory();

// For processes that allocate and free the same tensors every step (the
// learners, the evaluators, serving): keeps freed heap memory of up to
// 128 MiB at the top of each arena instead of returning it to the operating
// system after every step, and serves blocks below 32 MiB from the heap.
// glibc's adaptive defaults trim a freed 256 KiB activation right away, so
// the next step touches fresh pages again: measured 64 page faults per
// td3_bc step at batch 256, none with this setting. Process-wide, idempotent;
// a no-op with other allocators.
void KeepFreedMemoryForReuse();

}  // namespace resact
