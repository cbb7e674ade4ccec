/* Helpers of the standalone drivers (jaxpar/workloads/<w>/main.c) only: memory
 * estimates before allocating, and error texts. Not kernel code, so not counted
 * as code size (jaxpar/csrc/common.c is). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "driver.h"

int jaxpar_add_bytes(int64_t *bytes, int64_t a, int64_t b, size_t size) {
  int64_t count, more;
  if (*bytes == INT64_MAX || size > INT64_MAX || jaxpar_mul_overflows(a, b, &count) ||
      jaxpar_mul_overflows(count, (int64_t)size, &more) || more > INT64_MAX - *bytes) {
    *bytes = INT64_MAX;
    return 1;
  }
  *bytes += more;
  return 0;
}

int jaxpar_check_memory(MPI_Comm comm, const char *program, int64_t need) {
  /* Ranks on one node share its memory: add up their needs (in double, which
   * cannot overflow; byte counts are exact up to 2^53). */
  MPI_Comm node;
  int rank, node_ranks;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &node_ranks);
  double mine = (double)need, node_need;
  MPI_Allreduce(&mine, &node_need, 1, MPI_DOUBLE, MPI_SUM, node);
  MPI_Comm_free(&node);
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
  const double physical = pages > 0 && page_size > 0 ? (double)pages * page_size : INFINITY;

  /* The worst node decides for all: {overflow, refused, need, node need,
   * ranks on that node, -physical}, each reduced by its maximum. */
  double local[6] = {need == INT64_MAX, node_need > physical, mine, node_need, node_ranks,
                     -physical}, worst[6];
  MPI_Allreduce(local, worst, 6, MPI_DOUBLE, MPI_MAX, comm);
  if (!worst[0] && !worst[1]) return 0;
  if (rank == 0) {
    if (worst[0])
      fprintf(stderr, "%s: sizes too large: the bytes they need per rank overflow a 64-bit "
                      "count\n", program);
    else
      fprintf(stderr, "%s: not enough memory: needs %.0f bytes per rank (%.0f bytes for the "
                      "%.0f ranks on a node), more than the %.0f bytes of physical memory\n",
              program, worst[2], worst[3], worst[4], -worst[5]);
  }
  return 1;
}

void jaxpar_error_string(int err, char *buf, int len) {
  if (err == MPI_ERR_NO_MEM) {
    snprintf(buf, (size_t)len, "out of memory");
  } else if (err == JAXPAR_EINVAL) {
    snprintf(buf, (size_t)len, "invalid arguments (JAXPAR_EINVAL)");
  } else {
    char text[MPI_MAX_ERROR_STRING + 1];
    int tlen = 0;
    if (MPI_Error_string(err, text, &tlen) != MPI_SUCCESS) tlen = 0;
    text[tlen] = '\0';
    snprintf(buf, (size_t)len, "%s (MPI error %d)", text, err);
  }
}

void jaxpar_kernel_failed(MPI_Comm comm, const char *program, int err) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  char why[MPI_MAX_ERROR_STRING + 64];
  jaxpar_error_string(err, why, (int)sizeof why);
  if (err == MPI_ERR_NO_MEM) {
    if (rank == 0) fprintf(stderr, "%s: kernel failed: %s\n", program, why);
    return;
  }
  fprintf(stderr, "%s: rank %d: kernel failed: %s\n", program, rank, why);
  MPI_Abort(comm, 1);
}
