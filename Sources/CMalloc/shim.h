#ifndef FINETUNED_CMALLOC_SHIM_H
#define FINETUNED_CMALLOC_SHIM_H
/* glibc's mallopt and malloc_trim, which the Glibc module does not export: the daemon fixes
   its heap thresholds at start and hands freed heap back after it lets the evaluation model
   go. */
#include <malloc.h>
#endif
