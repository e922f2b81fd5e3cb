#ifndef LLAMA_SFT_CBLAS_SHIM_H
#define LLAMA_SFT_CBLAS_SHIM_H
// OpenBLAS's cblas.h (pkg-config "openblas" pins the openblas-pthread include dir).
#include <cblas.h>
#endif
