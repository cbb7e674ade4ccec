/* CBLAS with or without the scipy_ symbol prefix of the scipy-openblas32 wheel. */
#ifndef JAXPAR_BLAS_H
#define JAXPAR_BLAS_H

#include <cblas.h>

#ifdef JAXPAR_SCIPY_OPENBLAS
#define CBLAS(name) scipy_cblas_##name
#else
#define CBLAS(name) cblas_##name
#endif

#endif
