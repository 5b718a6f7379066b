/*
 * lib/hmac.h — HMAC (RFC 2104) over the port's hash algorithms, streaming,
 * with caller-owned state. Used for the native protocol's proofs, session
 * key and frame MACs.
 */
#ifndef ALOFT_HMAC_H
#define ALOFT_HMAC_H

#include <stddef.h>
#include <stdint.h>

#include "aloft/port/crypto.h"

#define ALOFT_HMAC_BLOCK 64u   /* SHA-256 and MD5 block size */

/* Internal; do not rely on the fields. */
typedef struct aloft_hmac {
    const aloft_hash_alg_t *alg;
    aloft_hash_ctx_t inner;
    uint8_t okey[ALOFT_HMAC_BLOCK];   /* key XOR opad, for the outer hash */
} aloft_hmac_t;

/* Start an HMAC with key (any length; longer than a block is hashed first).
 * Returns 0 or ALOFT_ERR_ARG. */
int aloft_hmac_init(aloft_hmac_t *h, const aloft_hash_alg_t *alg, const void *key, size_t klen);
void aloft_hmac_update(aloft_hmac_t *h, const void *data, size_t len);
/* Write alg->digest_len bytes to out and wipe the key material. */
void aloft_hmac_final(aloft_hmac_t *h, uint8_t *out);

/* One-shot HMAC. Returns 0 or ALOFT_ERR_ARG. */
int aloft_hmac(const aloft_hash_alg_t *alg, const void *key, size_t klen, const void *data,
               size_t len, uint8_t *out);

#endif /* ALOFT_HMAC_H */
