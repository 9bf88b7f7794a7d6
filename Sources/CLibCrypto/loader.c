/* Opens the system's OpenSSL on first use; see include/CLibCrypto.h for why. */
#include "CLibCrypto.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define FT_STRINGIFY(x) #x
#define FT_SONAME(lib, major) "lib" lib ".so." FT_STRINGIFY(major)

/* (return type, name, parameters, arguments), per library. */
#define FT_CRYPTO_FUNCTIONS(X, V) \
    X(EVP_MD_CTX *, EVP_MD_CTX_new, (void), ()) \
    V(EVP_MD_CTX_free, (EVP_MD_CTX *ctx), (ctx)) \
    X(int, EVP_DigestInit_ex, (EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl), (ctx, type, impl)) \
    X(int, EVP_DigestUpdate, (EVP_MD_CTX *ctx, const void *d, size_t cnt), (ctx, d, cnt)) \
    X(int, EVP_DigestFinal_ex, (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s), (ctx, md, s)) \
    X(const EVP_MD *, EVP_sha256, (void), ()) \
    X(unsigned char *, HMAC, (const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data, \
                              size_t data_len, unsigned char *md, unsigned int *md_len), \
      (evp_md, key, key_len, data, data_len, md, md_len)) \
    X(unsigned long, ERR_get_error, (void), ()) \
    V(ERR_error_string_n, (unsigned long e, char *buf, size_t len), (e, buf, len)) \
    X(BIO *, BIO_new, (const BIO_METHOD *type), (type)) \
    X(const BIO_METHOD *, BIO_s_mem, (void), ()) \
    X(int, BIO_read, (BIO *b, void *data, int dlen), (b, data, dlen)) \
    X(int, BIO_write, (BIO *b, const void *data, int dlen), (b, data, dlen)) \
    X(size_t, BIO_ctrl_pending, (BIO *b), (b)) \
    X(const char *, X509_verify_cert_error_string, (long n), (n))

#define FT_TLS_FUNCTIONS(X, V) \
    X(const SSL_METHOD *, TLS_client_method, (void), ()) \
    X(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *meth), (meth)) \
    V(SSL_CTX_free, (SSL_CTX *ctx), (ctx)) \
    X(long, SSL_CTX_ctrl, (SSL_CTX *ctx, int cmd, long larg, void *parg), (ctx, cmd, larg, parg)) \
    V(SSL_CTX_set_verify, (SSL_CTX *ctx, int mode, SSL_verify_cb callback), (ctx, mode, callback)) \
    X(int, SSL_CTX_load_verify_locations, (SSL_CTX *ctx, const char *CAfile, const char *CApath), (ctx, CAfile, CApath)) \
    X(int, SSL_CTX_set_default_verify_paths, (SSL_CTX *ctx), (ctx)) \
    X(SSL *, SSL_new, (SSL_CTX *ctx), (ctx)) \
    V(SSL_free, (SSL *ssl), (ssl)) \
    X(long, SSL_ctrl, (SSL *ssl, int cmd, long larg, void *parg), (ssl, cmd, larg, parg)) \
    X(int, SSL_set1_host, (SSL *s, const char *hostname), (s, hostname)) \
    V(SSL_set_bio, (SSL *s, BIO *rbio, BIO *wbio), (s, rbio, wbio)) \
    V(SSL_set_connect_state, (SSL *s), (s)) \
    X(int, SSL_do_handshake, (SSL *s), (s)) \
    X(int, SSL_get_error, (const SSL *s, int ret_code), (s, ret_code)) \
    X(long, SSL_get_verify_result, (const SSL *ssl), (ssl)) \
    X(int, SSL_read, (SSL *ssl, void *buf, int num), (ssl, buf, num)) \
    X(int, SSL_write, (SSL *ssl, const void *buf, int num), (ssl, buf, num)) \
    X(int, SSL_shutdown, (SSL *s), (s)) \
    X(int, SSL_get_shutdown, (const SSL *ssl), (ssl))

#define FT_POINTER(ret, name, params, args) static ret(*p_##name) params;
#define FT_VOID_POINTER(name, params, args) static void(*p_##name) params;
FT_CRYPTO_FUNCTIONS(FT_POINTER, FT_VOID_POINTER)
FT_TLS_FUNCTIONS(FT_POINTER, FT_VOID_POINTER)

static char error_text[512];
static int crypto_ok, tls_ok;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT, tls_once = PTHREAD_ONCE_INIT;

/* Both libraries are NODELETE, so a handle, once open, stays valid for the process's life. */
static void *open_library(const char *soname) {
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) snprintf(error_text, sizeof error_text, "cannot open %s: %s", soname, dlerror());
    return handle;
}

#define FT_RESOLVE(ret, name, params, args) \
    if (!(p_##name = (ret(*) params)dlsym(handle, #name))) missing = #name;
#define FT_VOID_RESOLVE(name, params, args) \
    if (!(p_##name = (void(*) params)dlsym(handle, #name))) missing = #name;

static void open_crypto(void) {
    const char *soname = FT_SONAME("crypto", OPENSSL_VERSION_MAJOR), *missing = NULL;
    void *handle = open_library(soname);
    if (!handle) return;
    FT_CRYPTO_FUNCTIONS(FT_RESOLVE, FT_VOID_RESOLVE)
    if (missing) snprintf(error_text, sizeof error_text, "%s has no %s", soname, missing);
    crypto_ok = missing == NULL;
}

static void open_tls(void) {
    if (!finetuned_crypto_open()) return;
    const char *soname = FT_SONAME("ssl", OPENSSL_VERSION_MAJOR), *missing = NULL;
    void *handle = open_library(soname);
    if (!handle) return;
    FT_TLS_FUNCTIONS(FT_RESOLVE, FT_VOID_RESOLVE)
    if (missing) snprintf(error_text, sizeof error_text, "%s has no %s", soname, missing);
    tls_ok = missing == NULL;
}

int finetuned_crypto_open(void) {
    pthread_once(&crypto_once, open_crypto);
    return crypto_ok;
}

int finetuned_tls_open(void) {
    pthread_once(&tls_once, open_tls);
    return tls_ok;
}

const char *finetuned_crypto_error(void) { return error_text; }

static void require(int open) {
    if (open) return;
    fprintf(stderr, "finetuned: OpenSSL is needed and cannot be used: %s\n", error_text);
    abort();
}

#define FT_CRYPTO_WRAP(ret, name, params, args) \
    ret ft_##name params { require(finetuned_crypto_open()); return p_##name args; }
#define FT_CRYPTO_VOID_WRAP(name, params, args) \
    void ft_##name params { require(finetuned_crypto_open()); p_##name args; }
#define FT_TLS_WRAP(ret, name, params, args) \
    ret ft_##name params { require(finetuned_tls_open()); return p_##name args; }
#define FT_TLS_VOID_WRAP(name, params, args) \
    void ft_##name params { require(finetuned_tls_open()); p_##name args; }
FT_CRYPTO_FUNCTIONS(FT_CRYPTO_WRAP, FT_CRYPTO_VOID_WRAP)
FT_TLS_FUNCTIONS(FT_TLS_WRAP, FT_TLS_VOID_WRAP)
