#ifndef FINETUNED_CMALLOC_SHIM_H
#define FINETUNED_CMALLOC_SHIM_H
/* glibc's malloc_trim, which the Glibc module does not export: the daemon hands freed heap
   back to the system after it lets the evaluation model go. */
#include <malloc.h>
#endif
