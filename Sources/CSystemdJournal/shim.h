/* libsystemd's journal reader (Debian's libsystemd-dev), for `finetunectl logs` and the
 * journal lines of `finetunectl show`. Linked into finetunectl only: the daemon writes the
 * journal through journald's documented native protocol (Sources/Systemd), which keeps
 * libsystemd and the five libraries it loads out of a process that stays resident for
 * months. Only the non-variadic functions are callable from Swift. */
#include <systemd/sd-journal.h>
