/*
 * port/windows/crypto_bcrypt.h — the core's crypto (aloft/port/crypto.h)
 * over Windows CNG (bcrypt.dll, Windows 7 and later; wine implements it):
 * SHA-256 and MD5 hashes, PBKDF2-HMAC-SHA256, ECDSA P-256 verification and
 * the system RNG. Algorithm providers are opened on first use and kept
 * open for the life of the process. Used by aloft.exe (host/win).
 */
#ifndef ALOFT_CRYPTO_BCRYPT_H
#define ALOFT_CRYPTO_BCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "aloft/port/crypto.h"

extern const aloft_hash_alg_t aloft_bcrypt_sha256;
extern const aloft_hash_alg_t aloft_bcrypt_md5;

/* { SHA-256, MD5, PBKDF2, BCryptGenRandom, ECDSA P-256 verify } */
extern const aloft_crypto_t aloft_bcrypt_crypto;

/* CNG takes and gives ECDSA signatures as r || s (32 bytes each); aloft's
 * are ASN.1 DER (SEQUENCE of two INTEGERs), as mbedTLS and openssl write.
 * der_to_raw accepts exactly one signature with nothing after it, and
 * returns 0 or -1; raw_to_der writes at most 72 bytes and returns the
 * length. */
int aloft_bcrypt_der_to_raw(const uint8_t *der, size_t len, uint8_t raw[64]);
size_t aloft_bcrypt_raw_to_der(const uint8_t raw[64], uint8_t der[72]);

#endif /* ALOFT_CRYPTO_BCRYPT_H */
