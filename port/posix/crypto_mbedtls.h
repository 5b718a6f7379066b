/*
 * port/posix/crypto_mbedtls.h — the core's hash algorithms (aloft/hash.h)
 * backed by mbedTLS, as on ESP-IDF.
 */
#ifndef ALOFT_CRYPTO_MBEDTLS_H
#define ALOFT_CRYPTO_MBEDTLS_H

#include "aloft/port/crypto.h"

extern const aloft_hash_alg_t aloft_mbedtls_sha256;
extern const aloft_hash_alg_t aloft_mbedtls_md5;

/* { &aloft_mbedtls_sha256, &aloft_mbedtls_md5, PBKDF2, getrandom(2),
 *   ECDSA P-256 verify } */
extern const aloft_crypto_t aloft_mbedtls_crypto;

#endif /* ALOFT_CRYPTO_MBEDTLS_H */
