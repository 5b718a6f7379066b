/* lib/hmac.c — HMAC (RFC 2104) over aloft_hash_alg_t (see aloft/hmac.h). */
#include <string.h>

#include "aloft/error.h"
#include "hmac.h"

int aloft_hmac_init(aloft_hmac_t *h, const aloft_hash_alg_t *alg, const void *key, size_t klen)
{
    uint8_t k[ALOFT_HMAC_BLOCK] = {0};
    uint8_t ikey[ALOFT_HMAC_BLOCK];
    if (alg == NULL || alg->digest_len > ALOFT_HMAC_BLOCK)
        return ALOFT_ERR_ARG;
    if (klen > ALOFT_HMAC_BLOCK) {
        int err = aloft_hash_oneshot(alg, key, klen, k);
        if (err)
            return err;
    } else if (klen) {
        memcpy(k, key, klen);
    }
    for (size_t i = 0; i < ALOFT_HMAC_BLOCK; i++) {
        ikey[i] = (uint8_t)(k[i] ^ 0x36);
        h->okey[i] = (uint8_t)(k[i] ^ 0x5c);
    }
    h->alg = alg;
    int err = aloft_hash_init(alg, &h->inner);
    if (err == 0)
        alg->update(&h->inner, ikey, sizeof ikey);
    memset(k, 0, sizeof k);
    memset(ikey, 0, sizeof ikey);
    return err;
}

void aloft_hmac_update(aloft_hmac_t *h, const void *data, size_t len)
{
    h->alg->update(&h->inner, data, len);
}

void aloft_hmac_final(aloft_hmac_t *h, uint8_t *out)
{
    uint8_t inner[ALOFT_HMAC_BLOCK];
    aloft_hash_ctx_t outer;
    h->alg->finish(&h->inner, inner);
    aloft_hash_init(h->alg, &outer);   /* cannot fail: init succeeded with alg */
    h->alg->update(&outer, h->okey, sizeof h->okey);
    h->alg->update(&outer, inner, h->alg->digest_len);
    h->alg->finish(&outer, out);
    memset(h->okey, 0, sizeof h->okey);
    memset(inner, 0, sizeof inner);
}

int aloft_hmac(const aloft_hash_alg_t *alg, const void *key, size_t klen, const void *data,
               size_t len, uint8_t *out)
{
    aloft_hmac_t h;
    int err = aloft_hmac_init(&h, alg, key, klen);
    if (err)
        return err;
    aloft_hmac_update(&h, data, len);
    aloft_hmac_final(&h, out);
    return ALOFT_OK;
}
