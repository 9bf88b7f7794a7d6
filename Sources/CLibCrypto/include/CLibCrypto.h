#ifndef FINETUNED_CLIBCRYPTO_H
#define FINETUNED_CLIBCRYPTO_H
/* The system's OpenSSL (Debian: libssl-dev at build time, libssl3 at run time) for TLS, to the
 * notification channels and AWS, linked rather than compiled, where a bundled BoringSSL added
 * minutes to every clean build. Hashing and MACs come from swift-crypto; libcrypto's SHA-256 and
 * HMAC stay here as the independent peer the tests and `make bench` compare it with.
 *
 * Opened on first use rather than linked: loading and relocating libcrypto and libssl costs
 * a daemon 1.7 MiB, and initialising OpenSSL 3 more, which it may not need for hours (a
 * daemon that only ever talks to the local backend never opens them at all). Call the ft_
 * functions, never OpenSSL's own: the programs do not link OpenSSL, so a direct call fails
 * the build. */
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Opens libcrypto (and, for TLS, libssl) if not yet open. Return 1 when every function is
 * there; otherwise 0, with the loader's reason in finetuned_crypto_error(). Calling an ft_
 * function whose library did not open ends the process with that reason on stderr. */
int finetuned_crypto_open(void);
int finetuned_tls_open(void);
const char *finetuned_crypto_error(void);

EVP_MD_CTX *ft_EVP_MD_CTX_new(void);
void ft_EVP_MD_CTX_free(EVP_MD_CTX *ctx);
int ft_EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
int ft_EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt);
int ft_EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);
const EVP_MD *ft_EVP_sha256(void);
unsigned char *ft_HMAC(const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data, size_t data_len,
                       unsigned char *md, unsigned int *md_len);
unsigned long ft_ERR_get_error(void);
void ft_ERR_error_string_n(unsigned long e, char *buf, size_t len);
BIO *ft_BIO_new(const BIO_METHOD *type);
const BIO_METHOD *ft_BIO_s_mem(void);
int ft_BIO_read(BIO *b, void *data, int dlen);
int ft_BIO_write(BIO *b, const void *data, int dlen);
size_t ft_BIO_ctrl_pending(BIO *b);
const char *ft_X509_verify_cert_error_string(long n);

const SSL_METHOD *ft_TLS_client_method(void);
SSL_CTX *ft_SSL_CTX_new(const SSL_METHOD *meth);
void ft_SSL_CTX_free(SSL_CTX *ctx);
long ft_SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg);
void ft_SSL_CTX_set_verify(SSL_CTX *ctx, int mode, SSL_verify_cb callback);
int ft_SSL_CTX_load_verify_locations(SSL_CTX *ctx, const char *CAfile, const char *CApath);
int ft_SSL_CTX_set_default_verify_paths(SSL_CTX *ctx);
SSL *ft_SSL_new(SSL_CTX *ctx);
void ft_SSL_free(SSL *ssl);
long ft_SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg);
int ft_SSL_set1_host(SSL *s, const char *hostname);
void ft_SSL_set_bio(SSL *s, BIO *rbio, BIO *wbio);
void ft_SSL_set_connect_state(SSL *s);
int ft_SSL_do_handshake(SSL *s);
int ft_SSL_get_error(const SSL *s, int ret_code);
long ft_SSL_get_verify_result(const SSL *ssl);
int ft_SSL_read(SSL *ssl, void *buf, int num);
int ft_SSL_write(SSL *ssl, const void *buf, int num);
int ft_SSL_shutdown(SSL *s);
int ft_SSL_get_shutdown(const SSL *ssl);
#endif
