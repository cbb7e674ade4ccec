/* Type-independent helpers of the jaxpar C kernels (common.c). */
#ifndef JAXPAR_COMMON_H
#define JAXPAR_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "jaxpar_mpi.h"

/* Memory for `count` elements of `size` bytes, where count may be 0 (an empty
 * block): NULL always means out of memory, never an empty allocation. */
void *jaxpar_alloc(int64_t count, size_t size);

#endif
