/*
 * aloft/port/crypto.h — the crypto a port supplies: streaming hashes,
 * PBKDF2, a random source and ECDSA verification.
 *
 * The core never implements SHA-256, MD5 or ECDSA itself: on the ESP32 the
 * platform has them (mbedTLS, often hardware-accelerated), on Linux
 * port/posix wraps mbedTLS. A port fills an aloft_hash_alg_t per algorithm;
 * the core keeps each running hash's state (its context) inside its own
 * structs, so no allocation happens. The other callbacks get the port's
 * aloft_crypto_t.ctx (an RNG handle, a key store...).
 */
#ifndef ALOFT_PORT_CRYPTO_H
#define ALOFT_PORT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of context storage the core reserves per running hash. A port whose
 * context is larger fails aloft_hash_init with ALOFT_ERR_ARG. The largest
 * known: psa_hash_operation_t of TF-PSA-Crypto 1.0 (mbedTLS 4, ESP-IDF 6.x)
 * with its default algorithms, 232 bytes on 32- and 64-bit targets;
 * mbedTLS 2.28/3.x and ESP-IDF's hardware SHA-256 contexts are about 120. */
#define ALOFT_HASH_CTX_SIZE 256u

#define ALOFT_SHA256_LEN 32u
#define ALOFT_MD5_LEN 16u

/* Storage for one running hash; aligned for any port context. */
typedef union aloft_hash_ctx {
    unsigned char bytes[ALOFT_HASH_CTX_SIZE];
    uint64_t align_u64;
    void *align_ptr;
    long double align_ld;
} aloft_hash_ctx_t;

typedef struct aloft_hash_alg {
    size_t ctx_size;      /* bytes of aloft_hash_ctx_t the port uses */
    size_t digest_len;    /* 32 for SHA-256, 16 for MD5 */
    void (*init)(aloft_hash_ctx_t *c);
    void (*update)(aloft_hash_ctx_t *c, const void *data, size_t len);
    void (*finish)(aloft_hash_ctx_t *c, uint8_t *digest);
} aloft_hash_alg_t;

/* The crypto a device needs, handed to the core as one struct. */
typedef struct aloft_crypto {
    const aloft_hash_alg_t *sha256;
    const aloft_hash_alg_t *md5;
    /* PBKDF2-HMAC-SHA256 (RFC 8018) of pw with salt, out_len bytes.
     * Returns 0 or ALOFT_ERR_CRYPTO. NULL if the device has no auth. */
    int (*pbkdf2_sha256)(void *ctx, const void *pw, size_t pw_len, const void *salt,
                         size_t salt_len, uint32_t iterations, uint8_t *out,
                         size_t out_len);
    /* Fill out with n bytes from a cryptographically secure RNG. Returns 0
     * or ALOFT_ERR_CRYPTO. NULL if the device has no auth. */
    int (*random)(void *ctx, void *out, size_t n);
    /* Verify an ECDSA P-256 signature (ASN.1 DER) of a SHA-256 digest with
     * an uncompressed public key (65 bytes). Returns 0, ALOFT_ERR_SIGNATURE
     * or ALOFT_ERR_ARG (bad key). NULL if the device does not check
     * signatures. */
    int (*ecdsa_p256_verify)(void *ctx, const uint8_t pubkey[65], const uint8_t digest[32],
                             const uint8_t *sig, size_t sig_len);
    void *ctx;            /* the port's own state, passed to the callbacks above */
} aloft_crypto_t;

/* Start a hash in c. Returns 0, or ALOFT_ERR_ARG if alg is NULL or its
 * context does not fit. */
int aloft_hash_init(const aloft_hash_alg_t *alg, aloft_hash_ctx_t *c);

/* One-shot digest of data into digest (alg->digest_len bytes). Returns 0 or
 * a negative error code. */
int aloft_hash_oneshot(const aloft_hash_alg_t *alg, const void *data,
                       size_t len, uint8_t *digest);

#endif /* ALOFT_PORT_CRYPTO_H */
