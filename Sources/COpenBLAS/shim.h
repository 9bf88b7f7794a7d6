#ifndef FINETUNED_COPENBLAS_SHIM_H
#define FINETUNED_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
