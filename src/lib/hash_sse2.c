/* XXH3 with SSE2, which every x86-64 has. */
#define HASH_SUFFIX sse2
#include "hash_impl.h"
