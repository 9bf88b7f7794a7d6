#ifndef FINETUNED_CDIGEST_H
#define FINETUNED_CDIGEST_H
/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), compiled into the daemon.
 *
 * Every drop is hashed and every workflow derives its client request tokens from a hash, so
 * hashing through libcrypto made every daemon that saw one drop load OpenSSL 3 and its
 * provider tables for good: 3.3 MiB resident at rest, for a function of a hundred lines.
 * The compression function uses the CPU's SHA extensions when it has them (as fast as
 * OpenSSL's, see `make bench`) and portable C otherwise; OpenSSL is now for TLS only. */
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t length;      /* bytes fed so far */
    uint8_t buffer[64];   /* a partial block */
    size_t buffered;
    int portable;         /* 1: never the SHA extensions (ft_sha256_init_portable) */
} ft_sha256_context;

void ft_sha256_init(ft_sha256_context *context);
void ft_sha256_update(ft_sha256_context *context, const void *data, size_t count);
/* Writes the 32-byte digest; the context must be initialised again before reuse. */
void ft_sha256_final(ft_sha256_context *context, uint8_t digest[32]);

void ft_hmac_sha256(const void *key, size_t key_length, const void *data, size_t data_length, uint8_t mac[32]);

/* 1 when this CPU has the SHA extensions (and they are used), 0 when portable C runs. */
int ft_sha256_uses_sha_extensions(void);
/* A context that always runs the portable C, so the tests can compare the two. */
void ft_sha256_init_portable(ft_sha256_context *context);

#endif
