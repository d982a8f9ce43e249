#include "graph/memory.h"

#include <cstdlib>  // Defines __GLIBC__ with glibc.

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace resact {

void ReleaseFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace resact
