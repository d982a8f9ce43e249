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

}  // namespace resact
