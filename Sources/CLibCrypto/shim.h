// The system's OpenSSL libcrypto (Debian: libssl-dev at build time, libssl3 at run time):
// its digests use the CPU's SHA extensions, and linking it costs no build time, where
// compiling a bundled BoringSSL took minutes of every clean build.
#include <openssl/evp.h>
#include <openssl/hmac.h>
