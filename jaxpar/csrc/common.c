#include <stdint.h>
#include <stdlib.h>

#include "common.h"

/* floor(n index / parts), computed without forming n index (which overflows for
 * n near INT64_MAX): with n = q parts + r, it is q index + floor(r index / parts),
 * where r index < parts^2 fits easily. */
int64_t jaxpar_block_lo(int64_t n, int parts, int index) {
  return (n / parts) * index + (n % parts) * index / parts;
}

int jaxpar_mul_overflows(int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a)) return 1;
  *out = a * b;
  return 0;
}

void *jaxpar_alloc(int64_t count, size_t size) {
  if (count < 0 || (uint64_t)count > SIZE_MAX / size) return NULL;
  /* malloc(0) may return NULL, which would read as a failure: ask for a byte. */
  return malloc(count > 0 ? (size_t)count * size : 1);
}
