#ifndef FINETUNED_CGLIBCEXTRAS_SHIM_H
#define FINETUNED_CGLIBCEXTRAS_SHIM_H
/* What finetuned needs to speak systemd's notify and journal protocols itself, without linking
 * libsystemd (which brings libgcrypt, liblz4, liblzma, libzstd and libcap into every daemon's
 * memory for three calls). Swift's Glibc module is built without _GNU_SOURCE, which hides
 * these declarations; glibc (2.27+) has them all. */
#include <sys/socket.h>
#include <sys/uio.h>

extern int memfd_create(const char *name, unsigned int flags);

enum {
    FINETUNED_MFD_CLOEXEC = 0x0001U,
    FINETUNED_MFD_ALLOW_SEALING = 0x0002U,
    FINETUNED_F_ADD_SEALS = 1024 + 9,
    FINETUNED_F_SEAL_SEAL = 0x0001,
    FINETUNED_F_SEAL_SHRINK = 0x0002,
    FINETUNED_F_SEAL_GROW = 0x0004,
    FINETUNED_F_SEAL_WRITE = 0x0008,
};
#endif
