/* Type-independent helpers of the jaxpar C kernels and drivers (common.c). */
#ifndef JAXPAR_COMMON_H
#define JAXPAR_COMMON_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "jaxpar_mpi.h"

/* The one checked multiply of sizes: *out = a * b and 0, or 1 (and *out
 * untouched) when a or b is negative or the product overflows int64_t. Every
 * size product that is allocated, indexed or passed on is formed with it. */
int jaxpar_mul_overflows(int64_t a, int64_t b, int64_t *out);

/* Whether v can be passed as an int: an MPI count, or a dimension for the
 * CBLAS of the build (scipy-openblas32 takes 32-bit ints). */
static inline int jaxpar_fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* Whether a * b is formed without overflow and fits an int. */
static inline int jaxpar_product_fits_int(int64_t a, int64_t b) {
  int64_t p;
  return !jaxpar_mul_overflows(a, b, &p) && jaxpar_fits_int(p);
}

/* Size of the largest block of the n-item partition into `parts`:
 * ceil(n / parts), the same on every rank. */
static inline int64_t jaxpar_block_max(int64_t n, int parts) {
  return n / parts + (n % parts != 0);
}

/* Memory for `count` elements of `size` bytes, where count may be 0 (an empty
 * block): NULL always means out of memory, never an empty allocation. */
void *jaxpar_alloc(int64_t count, size_t size);

#endif
