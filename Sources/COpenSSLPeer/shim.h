/* The system's OpenSSL 3 (Debian's libssl-dev), for the tests and `make bench` only: the
 * independent peer that swift-crypto's SHA-256 and HMAC are checked and timed against. No
 * program that ships links it. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
