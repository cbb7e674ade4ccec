/* Facts about the build, for the Python loader (jaxpar/core/clib.py); not
 * used by the kernels. */
#include "jaxpar_mpi.h"

const char *jaxpar_blas_info(void) { return JAXPAR_BLAS_INFO; }

int jaxpar_mpi_library_version(char *buf, int len) {
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int vlen = 0;
  int err = MPI_Get_library_version(version, &vlen);
  if (err != MPI_SUCCESS) return err;
  if (len <= 0) return JAXPAR_EINVAL;
  int ncopy = vlen < len - 1 ? vlen : len - 1;
  for (int i = 0; i < ncopy; i++) buf[i] = version[i];
  buf[ncopy] = '\0';
  return 0;
}
