/* XXH3 without vector instructions: where they are emulated (a CPU under
 * QEMU's TCG), this one is the fastest (hash.c measures). */
#define XXH_VECTOR XXH_SCALAR
#define HASH_SUFFIX scalar
#include "hash_impl.h"
