#include "graph/memory.h"

#include <cstdlib>  // Defines __GLIBC__ with glibc.

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// Under AddressSanitizer (GCC defines __SANITIZE_ADDRESS__, clang has
// __has_feature) malloc is ASan's, and glibc's malloc_trim walks arenas it
// never set up: it crashed in a concurrent call. The heap calls are skipped.
#if defined(__SANITIZE_ADDRESS__)
#define RESACT_GLIBC_HEAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RESACT_GLIBC_HEAP 0
#endif
#endif
#if !defined(RESACT_GLIBC_HEAP) && defined(__GLIBC__)
#define RESACT_GLIBC_HEAP 1
#endif
#if !defined(RESACT_GLIBC_HEAP)
#define RESACT_GLIBC_HEAP 0
#endif

namespace resact {

void ReleaseFreedMemory() {
#if RESACT_GLIBC_HEAP
  malloc_trim(0);
#endif
}

void KeepFreedMemoryForReuse() {
#if RESACT_GLIBC_HEAP
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    return true;
  }();
  (void)done;
#endif
}

}  // namespace resact
