// The system's OpenSSL (Debian: libssl-dev at build time, libssl3 at run time): digests that
// use the CPU's SHA extensions and TLS for the notification channels, linked rather than
// compiled, where a bundled BoringSSL added minutes to every clean build.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
