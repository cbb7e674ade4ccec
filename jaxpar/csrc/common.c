#include <stdint.h>
#include <stdlib.h>

#include "common.h"

int64_t jaxpar_block_lo(int64_t n, int parts, int index) {
  return n * index / parts;
}

void *jaxpar_alloc(int64_t count, size_t size) {
  if (count < 0 || (uint64_t)count > SIZE_MAX / size) return NULL;
  /* malloc(0) may return NULL, which would read as a failure: ask for a byte. */
  return malloc(count > 0 ? (size_t)count * size : 1);
}
