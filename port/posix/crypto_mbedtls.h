/*
 * port/posix/crypto_mbedtls.h — the POSIX port's crypto: the shared mbedTLS
 * module (port/mbedtls/aloft_mbedtls.h) with getentropy(3) as the RNG.
 */
#ifndef ALOFT_CRYPTO_MBEDTLS_H
#define ALOFT_CRYPTO_MBEDTLS_H

#include "aloft/port/crypto.h"
#include "aloft_mbedtls.h"

/* { &aloft_mbedtls_sha256, &aloft_mbedtls_md5, PBKDF2, getentropy(3),
 *   ECDSA P-256 verify } */
extern const aloft_crypto_t aloft_mbedtls_crypto;

#endif /* ALOFT_CRYPTO_MBEDTLS_H */
