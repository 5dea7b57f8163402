/* XXH3 with AVX2; built with -mavx2 and used only where the CPU has it. */
#define HASH_SUFFIX avx2
#include "hash_impl.h"
