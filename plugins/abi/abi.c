/* The ABI target has no code of its own; this checks the header compiles as C and that the
 * table keeps the layout plugins were built against. */
#include "finetuned_adapter.h"
#include <stddef.h>

_Static_assert(offsetof(finetuned_adapter_v1, describe) == 16, "finetuned_adapter_v1 header layout changed");
_Static_assert(sizeof(void *) != 8 || sizeof(finetuned_adapter_v1) == 56, "finetuned_adapter_v1 size changed");
