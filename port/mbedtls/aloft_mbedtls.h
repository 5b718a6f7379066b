/*
 * port/mbedtls/aloft_mbedtls.h — the core's crypto (aloft/port/crypto.h)
 * over mbedTLS, shared by every port whose platform ships mbedTLS: the
 * POSIX port (Debian's 2.28), ESP-IDF 5.x (3.x) and ESP-IDF 6.x (4.x, i.e.
 * TF-PSA-Crypto, through the PSA API). The version is picked at compile
 * time from the headers; the RNG stays with each port (getentropy(3),
 * esp_fill_random), which fills its own aloft_crypto_t from these.
 */
#ifndef ALOFT_MBEDTLS_H
#define ALOFT_MBEDTLS_H

#include <stddef.h>
#include <stdint.h>

#include "aloft/port/crypto.h"

extern const aloft_hash_alg_t aloft_mbedtls_sha256;
extern const aloft_hash_alg_t aloft_mbedtls_md5;

/* aloft_crypto_t.pbkdf2_sha256 (ctx unused). */
int aloft_mbedtls_pbkdf2_sha256(void *ctx, const void *pw, size_t pw_len, const void *salt,
                                size_t salt_len, uint32_t iterations, uint8_t *out,
                                size_t out_len);

/* aloft_crypto_t.ecdsa_p256_verify (ctx unused). Bytes after the DER
 * signature are refused (ALOFT_ERR_SIGNATURE). */
int aloft_mbedtls_ecdsa_p256_verify(void *ctx, const uint8_t pubkey[65],
                                    const uint8_t digest[32], const uint8_t *sig,
                                    size_t sig_len);

/* Which API this build uses: 2 (mbedTLS 2.28 _ret names), 3 (3.x) or 4
 * (PSA). */
int aloft_mbedtls_api(void);

#endif /* ALOFT_MBEDTLS_H */
