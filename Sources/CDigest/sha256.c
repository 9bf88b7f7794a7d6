#include "CDigest.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define FT_HAVE_X86 1
#endif

static const uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotate_right(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load_big_endian(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* FIPS 180-4 section 6.2.2, one 64-byte block at a time. */
static void compress_portable(uint32_t state[8], const uint8_t *blocks, size_t count) {
    for (; count > 0; count--, blocks += 64) {
        uint32_t w[64];
        for (int t = 0; t < 16; t++) w[t] = load_big_endian(blocks + 4 * t);
        for (int t = 16; t < 64; t++) {
            uint32_t s0 = rotate_right(w[t - 15], 7) ^ rotate_right(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = rotate_right(w[t - 2], 17) ^ rotate_right(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int t = 0; t < 64; t++) {
            uint32_t t1 = h + (rotate_right(e, 6) ^ rotate_right(e, 11) ^ rotate_right(e, 25))
                        + ((e & f) ^ (~e & g)) + round_constants[t] + w[t];
            uint32_t t2 = (rotate_right(a, 2) ^ rotate_right(a, 13) ^ rotate_right(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        state[0] += a; state[1] += b; state[2] += c; state[3] += d;
        state[4] += e; state[5] += f; state[6] += g; state[7] += h;
    }
}

#ifdef FT_HAVE_X86
/* Four rounds with the schedule words in W: two sha256rnds2, each using two words. The first
 * leaves the new ABEF in cdgh; the second, two rounds on, the old ABEF being the new CDGH,
 * puts the names right again. */
#define FT_FOUR_ROUNDS(group, W) do { \
        __m128i message = _mm_add_epi32(W, _mm_loadu_si128((const __m128i *)&round_constants[4 * (group)])); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message); \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(message, 0x0E)); \
    } while (0)
/* The next four schedule words, replacing W0 (the oldest of the four kept). */
#define FT_SCHEDULE(W0, W1, W2, W3) \
    W0 = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(W0, W1), _mm_alignr_epi8(W3, W2, 4)), W3)

/* The SHA extensions keep the working variables as two vectors, ABEF and CDGH; each
 * sha256rnds2 does two rounds with two schedule words (plus constants) from the low lanes of
 * its third operand. The schedule runs four words at a time: msg1 adds sigma0 of the next
 * words to w[t-16], alignr brings in w[t-7], msg2 adds sigma1 of w[t-2]. */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_sha_extensions(uint32_t state[8], const uint8_t *blocks, size_t count) {
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);

    for (; count > 0; count--, blocks += 64) {
        const __m128i abef_before = abef, cdgh_before = cdgh;
        __m128i w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 0)), byte_swap);
        __m128i w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 16)), byte_swap);
        __m128i w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 32)), byte_swap);
        __m128i w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 48)), byte_swap);
        FT_FOUR_ROUNDS(0, w0);
        FT_FOUR_ROUNDS(1, w1);
        FT_FOUR_ROUNDS(2, w2);
        FT_FOUR_ROUNDS(3, w3);
        for (int group = 4; group < 16; group += 4) {
            FT_SCHEDULE(w0, w1, w2, w3); FT_FOUR_ROUNDS(group, w0);
            FT_SCHEDULE(w1, w2, w3, w0); FT_FOUR_ROUNDS(group + 1, w1);
            FT_SCHEDULE(w2, w3, w0, w1); FT_FOUR_ROUNDS(group + 2, w2);
            FT_SCHEDULE(w3, w0, w1, w2); FT_FOUR_ROUNDS(group + 3, w3);
        }
        abef = _mm_add_epi32(abef, abef_before);
        cdgh = _mm_add_epi32(cdgh, cdgh_before);
    }

    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));
}

static int cpu_has_sha_extensions(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return ssse3 && sse41 && ((b >> 29) & 1);
}
#endif

static int sha_extensions_checked, sha_extensions_present;

int ft_sha256_uses_sha_extensions(void) {
    if (!__atomic_load_n(&sha_extensions_checked, __ATOMIC_ACQUIRE)) {
#ifdef FT_HAVE_X86
        __atomic_store_n(&sha_extensions_present, cpu_has_sha_extensions(), __ATOMIC_RELAXED);
#endif
        __atomic_store_n(&sha_extensions_checked, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&sha_extensions_present, __ATOMIC_RELAXED);
}

static void compress(const ft_sha256_context *context, uint32_t state[8], const uint8_t *blocks, size_t count) {
#ifdef FT_HAVE_X86
    if (!context->portable && ft_sha256_uses_sha_extensions()) { compress_sha_extensions(state, blocks, count); return; }
#endif
    compress_portable(state, blocks, count);
}

void ft_sha256_init_portable(ft_sha256_context *context) {
    ft_sha256_init(context);
    context->portable = 1;
}

void ft_sha256_init(ft_sha256_context *context) {
    static const uint32_t initial[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    memcpy(context->state, initial, sizeof initial);
    context->length = 0;
    context->buffered = 0;
    context->portable = 0;
}

void ft_sha256_update(ft_sha256_context *context, const void *data, size_t count) {
    if (count == 0) return; /* data may then be NULL, which memcpy must not see */
    const uint8_t *bytes = data;
    context->length += count;
    if (context->buffered > 0) {
        size_t take = 64 - context->buffered;
        if (take > count) take = count;
        memcpy(context->buffer + context->buffered, bytes, take);
        context->buffered += take;
        bytes += take;
        count -= take;
        if (context->buffered < 64) return;
        compress(context, context->state, context->buffer, 1);
        context->buffered = 0;
    }
    if (count >= 64) {
        compress(context, context->state, bytes, count / 64);
        bytes += count - count % 64;
        count %= 64;
    }
    memcpy(context->buffer, bytes, count);
    context->buffered = count;
}

void ft_sha256_final(ft_sha256_context *context, uint8_t digest[32]) {
    uint64_t bits = context->length * 8;
    uint8_t padding[72] = {0x80};
    /* 0x80, zeros up to 56 mod 64, then the length in bits, big-endian. */
    size_t pad = (context->buffered < 56 ? 56 : 120) - context->buffered;
    for (int i = 0; i < 8; i++) padding[pad + i] = (uint8_t)(bits >> (56 - 8 * i));
    uint64_t length = context->length;
    ft_sha256_update(context, padding, pad + 8);
    context->length = length;
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(context->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(context->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(context->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)context->state[i];
    }
}

void ft_hmac_sha256(const void *key, size_t key_length, const void *data, size_t data_length, uint8_t mac[32]) {
    uint8_t block[64] = {0};
    ft_sha256_context context;
    if (key_length > 64) {
        ft_sha256_init(&context);
        ft_sha256_update(&context, key, key_length);
        ft_sha256_final(&context, block);
    } else if (key_length > 0) {
        memcpy(block, key, key_length);
    }
    uint8_t pad[64], inner[32];
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
    ft_sha256_init(&context);
    ft_sha256_update(&context, pad, 64);
    ft_sha256_update(&context, data, data_length);
    ft_sha256_final(&context, inner);
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
    ft_sha256_init(&context);
    ft_sha256_update(&context, pad, 64);
    ft_sha256_update(&context, inner, 32);
    ft_sha256_final(&context, mac);
    memset(block, 0, sizeof block);
    memset(pad, 0, sizeof pad);
}
